import { PermanentJobError } from '@strata/queue';
import { classifySmtpError, smtpFailure } from './smtp.sender';

function nodemailerError(fields: Record<string, unknown>): Error {
  const response = fields['response'];
  return Object.assign(new Error(typeof response === 'string' ? response : 'failed'), fields);
}

describe('classifySmtpError', () => {
  it.each([
    [
      { code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', response: '550 no such user' },
      'permanent',
    ],
    [{ code: 'EENVELOPE', responseCode: 553, command: 'RCPT TO' }, 'permanent'],
    [{ code: 'EMESSAGE', responseCode: 554, command: 'DATA', response: '554 spam' }, 'permanent'],
    [{ code: 'EENVELOPE', command: 'API', response: 'Invalid recipient' }, 'permanent'],
    [
      { code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO', response: '451 greylisted' },
      'transient',
    ],
    [{ code: 'EMESSAGE', responseCode: 452, command: 'DATA' }, 'transient'],
    [{ code: 'ESOCKET', errno: -111, syscall: 'connect' }, 'transient'],
    [{ code: 'ECONNECTION' }, 'transient'],
    [{ code: 'ETIMEDOUT' }, 'transient'],
    [{ code: 'EDNS' }, 'transient'],
    [{ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' }, 'transient'],
    [{ code: 'EENVELOPE', responseCode: 550, command: 'MAIL FROM' }, 'transient'],
    [{ code: 'EPROTOCOL', responseCode: 503 }, 'transient'],
    [{ code: 'EENVELOPE', responseCode: 530, command: 'RCPT TO' }, 'transient'],
  ])('%j → %s', (fields, expected) => {
    expect(classifySmtpError(nodemailerError(fields))).toBe(expected);
  });

  it('treats anything unrecognised as transient (retrying is the safe default)', () => {
    expect(classifySmtpError(new Error('boom'))).toBe('transient');
    expect(classifySmtpError('boom')).toBe('transient');
  });
});

describe('smtpFailure', () => {
  it('wraps permanent failures in PermanentJobError and keeps the reply', () => {
    const failure = smtpFailure(
      nodemailerError({
        code: 'EENVELOPE',
        responseCode: 550,
        command: 'RCPT TO',
        response: '550 no such user',
      }),
    );
    expect(failure).toBeInstanceOf(PermanentJobError);
    expect(failure.message).toMatch(/EENVELOPE: 550 no such user/);
  });

  it('leaves transient failures as plain errors, so BullMQ retries them', () => {
    const failure = smtpFailure(
      nodemailerError({ code: 'ESOCKET', response: 'connect ECONNREFUSED' }),
    );
    expect(failure).not.toBeInstanceOf(PermanentJobError);
    expect(failure.message).toMatch(/will retry: ESOCKET/);
  });
});
