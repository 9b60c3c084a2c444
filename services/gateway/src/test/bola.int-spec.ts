import { randomUUID } from 'node:crypto';
import { type InjectOptions } from 'fastify';
import { signUp, useGatewaySuite } from '../testing/gateway-harness';

// Broken object-level authorisation walk: a signed-in attacker calls every route that takes an
// id with ids belonging to someone else, and must get 403/404 and change nothing.
describe('BOLA walk', () => {
  const suite = useGatewaySuite();

  it("another user's ids yield 403/404 on every route and nothing changes", async () => {
    const owner = await signUp(suite.gateway.app, 'Owner');
    const friend = await signUp(suite.gateway.app, 'Friend');
    const attacker = await signUp(suite.gateway.app, 'Attacker');
    const as = (authorization: string, options: InjectOptions) =>
      suite.gateway.app.inject({ ...options, headers: { ...options.headers, authorization } });

    const draft = (
      await as(owner.authorization, {
        method: 'POST',
        url: '/v1/articles',
        payload: { title: 'Draft', body: 'private' },
      })
    ).json<{ id: string; slug: string }>();
    const published = (
      await as(owner.authorization, {
        method: 'POST',
        url: '/v1/articles',
        payload: { title: 'Public', body: 'public' },
      })
    ).json<{ id: string }>();
    await as(owner.authorization, { method: 'POST', url: `/v1/articles/${published.id}/publish` });
    const comment = (
      await as(owner.authorization, {
        method: 'POST',
        url: `/v1/articles/${published.id}/comments`,
        payload: { body: 'mine' },
      })
    ).json<{ id: string }>();
    const payment = (
      await as(owner.authorization, {
        method: 'POST',
        url: '/v1/payments',
        headers: { 'idempotency-key': randomUUID() },
        payload: { payeeId: friend.id, amount: 400, currency: 'EUR' },
      })
    ).json<{ id: string }>();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const snapshot = () =>
      JSON.stringify({
        articles: [...suite.fakes.content.articles.values()].filter(
          (article) => article.authorId === owner.id,
        ),
        comments: [...suite.fakes.content.comments.values()],
        payments: [...suite.fakes.payments.payments.values()],
        refunds: [...suite.fakes.payments.refunds.values()],
        owner: suite.fakes.users.users.get(owner.id),
      });
    const before = snapshot();

    const walk: Array<[InjectOptions, number[]]> = [
      [{ method: 'GET', url: `/v1/articles/${draft.id}` }, [404]],
      [{ method: 'GET', url: `/v1/articles/${draft.slug}` }, [404]],
      [{ method: 'GET', url: `/v1/articles/${draft.id}/comments` }, [404]],
      [
        { method: 'POST', url: `/v1/articles/${draft.id}/comments`, payload: { body: 'sneaky' } },
        [404],
      ],
      [{ method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { title: 'Owned' } }, [404]],
      [
        { method: 'PATCH', url: `/v1/articles/${published.id}`, payload: { title: 'Owned' } },
        [403],
      ],
      [{ method: 'POST', url: `/v1/articles/${draft.id}/publish` }, [404]],
      [{ method: 'POST', url: `/v1/articles/${published.id}/publish` }, [403]],
      [{ method: 'DELETE', url: `/v1/articles/${draft.id}` }, [404]],
      [{ method: 'DELETE', url: `/v1/articles/${published.id}` }, [403]],
      [{ method: 'DELETE', url: `/v1/comments/${comment.id}` }, [403]],
      [{ method: 'GET', url: `/v1/payments/${payment.id}` }, [404]],
      [
        {
          method: 'POST',
          url: `/v1/payments/${payment.id}/refunds`,
          headers: { 'idempotency-key': randomUUID() },
          payload: { amount: 100 },
        },
        [404],
      ],
      // The payer is a party to the payment but not its payee: refunding is forbidden.
    ];
    for (const [options, allowed] of walk) {
      const response = await as(attacker.authorization, options);
      const route = `${String(options.method)} ${options.url as string}`;
      expect({ route, status: response.statusCode }).toEqual({ route, status: allowed[0] });
      expect(response.body).not.toContain('private');
    }
    const payerRefund = await as(owner.authorization, {
      method: 'POST',
      url: `/v1/payments/${payment.id}/refunds`,
      headers: { 'idempotency-key': randomUUID() },
      payload: { amount: 100 },
    });
    expect(payerRefund.statusCode).toBe(403);

    // "Own" routes take no id: they can only ever show the caller's data.
    const attackerMe = (
      await as(attacker.authorization, { method: 'GET', url: '/v1/users/me' })
    ).json<{ id: string; email: string }>();
    expect(attackerMe).toMatchObject({ id: attacker.id, email: attacker.email });
    const attackerPayments = (
      await as(attacker.authorization, { method: 'GET', url: '/v1/payments?direction=sent' })
    ).json<{ items: unknown[] }>();
    expect(attackerPayments.items).toEqual([]);
    const attackerBalance = (
      await as(attacker.authorization, { method: 'GET', url: '/v1/users/me/balance' })
    ).json<{ balances: unknown[] }>();
    expect(attackerBalance.balances).toEqual([]);
    // Public profile never includes account details, whoever asks.
    expect(
      (await as(attacker.authorization, { method: 'GET', url: `/v1/users/${owner.id}` })).json(),
    ).not.toHaveProperty('email');

    expect(snapshot()).toBe(before);
  });
});
