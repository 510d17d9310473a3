import { Client, fetchExchange } from "@urql/core";

// The bearer token from signUp/logIn, kept across reloads.
const TOKEN_KEY = "photoshare.token";

export function loadToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** fetchOptions extension: called with the fraction of the request body sent. */
export interface UploadProgressInit extends RequestInit {
  onUploadProgress?: (fraction: number) => void;
}

// fetch() cannot report upload progress; XMLHttpRequest can. Requests that
// ask for progress (the upload screen) go through XHR, the rest through fetch.
function fetchWithProgress(input: RequestInfo | URL, init?: UploadProgressInit): Promise<Response> {
  const onProgress = init?.onUploadProgress;
  if (!onProgress) return fetch(input, init);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(init.method ?? "POST", String(input));
    new Headers(init.headers).forEach((value, name) => xhr.setRequestHeader(name, value));
    xhr.responseType = "blob";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      const headers = new Headers();
      for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const at = line.indexOf(":");
        if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
      }
      resolve(new Response(xhr.response as Blob, { status: xhr.status, headers }));
    };
    xhr.onerror = () => reject(new TypeError("Network request failed"));
    xhr.onabort = () => reject(new DOMException("Aborted", "AbortError"));
    init.signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(init.body as XMLHttpRequestBodyInit);
  });
}

/**
 * The GraphQL client. No document cache on purpose: urql's cacheExchange adds
 * `__typename` to every document, which would change the text the server
 * trusts (frontend-sample/operations/ hashed into trusted_documents.json).
 * Screens keep what they show in their own state instead.
 */
export function makeClient(token: string | null): Client {
  // The token goes on in fetch itself: an operation's own fetchOptions (the
  // upload's progress callback) replace the client's, headers included.
  const authorizedFetch = (input: RequestInfo | URL, init?: UploadProgressInit) => {
    const headers = new Headers(init?.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    return fetchWithProgress(input, { ...init, headers });
  };
  return new Client({
    url: "/graphql",
    exchanges: [fetchExchange],
    requestPolicy: "network-only",
    fetch: authorizedFetch as typeof fetch,
  });
}
