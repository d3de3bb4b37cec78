import { ferretdbBackendFromEnv } from '../../tools/servers';

/** FERRETDB_BACKEND: where the embedded FerretDB keeps its documents (docs/ferretdb-backends.md). */
describe('ferretdbBackendFromEnv', () => {
  it('defaults to SQLite on both profiles (measured faster on the cluster too)', () => {
    expect(ferretdbBackendFromEnv('dev', {})).toBe('sqlite');
    expect(ferretdbBackendFromEnv('cluster', {})).toBe('sqlite');
    expect(ferretdbBackendFromEnv('cluster', { FERRETDB_BACKEND: ' ' })).toBe('sqlite');
  });

  it('takes either backend by name, and refuses anything else', () => {
    expect(ferretdbBackendFromEnv('cluster', { FERRETDB_BACKEND: 'postgresql' })).toBe('postgresql');
    expect(ferretdbBackendFromEnv('dev', { FERRETDB_BACKEND: 'sqlite' })).toBe('sqlite');
    expect(() => ferretdbBackendFromEnv('cluster', { FERRETDB_BACKEND: 'postgres' })).toThrow(
      /FERRETDB_BACKEND must be sqlite or postgresql/,
    );
  });
});
