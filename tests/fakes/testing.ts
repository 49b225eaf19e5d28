/** A small fetch wrapper for tests of the fakes (and of adapters against them): status, headers and parsed body. */

export interface HttpReply<T> {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  body: T;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A raw body (sent as is) instead of JSON. */
  raw?: string;
  signal?: AbortSignal;
}

export type Json = Record<string, unknown>;

export function httpClient(baseUrl: string, defaultHeaders: Record<string, string> = {}) {
  async function request<T = Json>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<HttpReply<T>> {
    const headers: Record<string, string> = { ...defaultHeaders, ...options.headers };
    let payload: string | undefined = options.raw;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed as T };
  }
  return {
    request,
    get: <T = Json>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
    post: <T = Json>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, body, options),
    patch: <T = Json>(path: string, body?: unknown, options?: RequestOptions) =>
      request<T>('PATCH', path, body, options),
    delete: <T = Json>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
  };
}

export type HttpClient = ReturnType<typeof httpClient>;
