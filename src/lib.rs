//! mcp-tower
