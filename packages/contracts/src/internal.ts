// Entry for tests and tooling: the raw schema and example files.
export { readExampleFiles, readSchemaFiles } from './schema-files';
export type { ExampleFile, SchemaFile } from './schema-files';
