"""The `authz` command line: `main.py` parses it and runs the server's commands; each other
module adds one family of client commands (`policy` with `shadow`, `access`, `changes`,
`token`), and `common.py` holds what they share."""
