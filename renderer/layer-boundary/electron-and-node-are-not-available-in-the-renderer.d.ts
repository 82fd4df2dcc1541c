// renderer/ reaches the backend only through the preload API (window.workbench, typed in
// shared/api). tsconfig maps electron and better-sqlite3 here, and this file is
// deliberately not a module, so importing them fails with TS2306. Node built-ins fail
// already: the renderer does not load @types/node.
