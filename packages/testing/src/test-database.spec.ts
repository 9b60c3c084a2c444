import { databaseUrlFor, redactUrl, testDatabaseName } from './test-database';

describe('testDatabaseName', () => {
  it('builds test_<label>_<random> from any label', () => {
    expect(testDatabaseName('user', 'ab12cd34')).toBe('test_user_ab12cd34');
    expect(testDatabaseName('Payment-Service', 'ab12cd34')).toBe('test_payment_service_ab12cd34');
    expect(testDatabaseName('--', 'ab12cd34')).toBe('test_db_ab12cd34');
  });

  it('stays within PostgreSQL identifier limits (63 bytes) and differs between calls', () => {
    const name = testDatabaseName('x'.repeat(200));
    expect(name).toMatch(/^test_x{40}_[0-9a-f]{8}$/);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(testDatabaseName('user')).not.toBe(testDatabaseName('user'));
  });
});

describe('databaseUrlFor', () => {
  it('replaces the database and keeps credentials and parameters', () => {
    expect(
      databaseUrlFor(
        'postgres://postgres:secret@127.0.0.1:5432/postgres?sslmode=disable',
        'test_user_1',
      ),
    ).toBe('postgres://postgres:secret@127.0.0.1:5432/test_user_1?sslmode=disable');
    expect(databaseUrlFor('postgresql://postgres@db', 'test_user_1')).toBe(
      'postgresql://postgres@db/test_user_1',
    );
  });
});

describe('redactUrl', () => {
  it('hides the password', () => {
    expect(redactUrl('postgres://postgres:secret@127.0.0.1:5432/postgres')).toBe(
      'postgres://postgres:***@127.0.0.1:5432/postgres',
    );
    expect(redactUrl('not a url')).toBe('<unparsable URL>');
  });
});
