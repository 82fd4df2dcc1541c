// shared/ is environment-neutral (README "Architecture"). tsconfig maps electron and
// better-sqlite3 here, and this file is deliberately not a module, so importing them from
// shared/ fails with TS2306 "... is not a module". Node built-ins fail already: shared/
// does not load @types/node.
