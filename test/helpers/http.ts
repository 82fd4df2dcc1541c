import * as http from 'node:http';

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request (Node's fetch cannot set Host), for testing the bridge's guards. */
export function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Follows a one-time link and returns the session cookie it sets. */
export async function login(link: string): Promise<string> {
  const r = await request(link);
  const cookie = r.headers['set-cookie']?.[0];
  if (r.status !== 303 || !cookie) throw new Error(`login failed: ${r.status} ${r.body}`);
  return cookie.split(';')[0];
}
