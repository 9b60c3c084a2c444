import { randomUUID } from 'node:crypto';
import { startHarness, TEST_ADMIN_TOKEN, type Harness } from '../testing/notification.harness';
import { smtpReply } from '../testing/smtp-test.server';

// The admin app and the metrics endpoint of a running notification worker, over real HTTP.

describe('admin app and metrics', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('refuses the dashboard without valid credentials and serves it with them', async () => {
    const h = (harness = await startHarness({
      env: { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'correct horse battery' },
    }));
    const base = `http://127.0.0.1:${h.app.adminPort}`;
    const get = (path: string, authorization?: string) =>
      fetch(`${base}${path}`, {
        headers: authorization ? { authorization } : {},
        redirect: 'manual',
      });

    for (const path of ['/queues', '/queues/api/queues', '/queues/static/favicon-32x32.png', '/']) {
      const response = await get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 401 });
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="strata-admin"/);
      expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    }
    expect((await get('/queues', `Bearer ${TEST_ADMIN_TOKEN}x`)).status).toBe(401);
    expect((await get('/queues', basic('ops', 'wrong password'))).status).toBe(401);
    expect((await get('/queues', basic('someone', 'correct horse battery'))).status).toBe(401);

    const page = await get('/queues', `Bearer ${TEST_ADMIN_TOKEN}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Strata queues');
    expect((await get('/queues', basic('ops', 'correct horse battery'))).status).toBe(200);
    // The dashboard's static files exist (so the 401s above came from the guard, not a 404).
    expect(
      (await get('/queues/static/favicon-32x32.png', `Bearer ${TEST_ADMIN_TOKEN}`)).status,
    ).toBe(200);

    const api = await get('/queues/api/queues', basic('anyone', TEST_ADMIN_TOKEN));
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((queue) => queue.name).sort()).toEqual(
      ['content-media', 'email', 'payment-refunds', 'payment-settlement'].sort(),
    );

    // Liveness stays open to the kubelet.
    expect((await get('/healthz')).status).toBe(200);
  });

  it('takes the extra queues from QUEUE_NAMES', async () => {
    const h = (harness = await startHarness({
      env: { QUEUE_NAMES: 'payment-settlement, reports' },
    }));
    const response = await fetch(`http://127.0.0.1:${h.app.adminPort}/queues/api/queues`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    const body = (await response.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((queue) => queue.name).sort()).toEqual([
      'email',
      'payment-settlement',
      'reports',
    ]);
  });

  it('exports queue counts and processing times at /metrics', async () => {
    const h = (harness = await startHarness({
      smtp: {
        onRecipient: (address) => (address.startsWith('bounce') ? smtpReply(550, 'no') : undefined),
      },
    }));
    const payload = (to: string) => ({
      toEmail: to,
      template: 'email-verification' as const,
      data: { token: 't' },
      idempotencyKey: randomUUID(),
    });
    const sent = await h.add(payload('reader@example.com'));
    const bounced = await h.add(payload('bounce@example.com'));
    await h.settled(sent);
    await h.settled(bounced);
    await h.producer.queue('payment-settlement').add('settle-payment', { paymentId: 'p' });
    await h.producer
      .queue('payment-settlement')
      .add('settle-payment', { paymentId: 'q' }, { delay: 60_000 });

    const response = await fetch(`http://127.0.0.1:${h.app.metricsPort}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('strata_queue_jobs{queue="email",state="failed"} 1');
    expect(text).toContain('strata_queue_jobs{queue="email",state="waiting"} 0');
    expect(text).toContain('strata_queue_jobs{queue="email",state="active"} 0');
    expect(text).toContain('strata_queue_jobs{queue="payment-settlement",state="waiting"} 1');
    expect(text).toContain('strata_queue_jobs{queue="payment-settlement",state="delayed"} 1');
    expect(text).toContain('strata_queue_up{queue="content-media"} 1');
    expect(text).toMatch(
      /strata_queue_job_duration_seconds_count\{queue="email",name="send-email",status="completed"\} 1\n/,
    );
    expect(text).toMatch(
      /strata_queue_job_duration_seconds_count\{queue="email",name="send-email",status="failed"\} 1\n/,
    );
    // Process metrics come with it.
    expect(text).toContain('process_cpu_seconds_total');
  });
});
