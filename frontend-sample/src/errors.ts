import type { CombinedError } from "@urql/core";

export interface AppError {
  code: string;
  message: string;
  /** RATE_LIMITED: seconds to wait before trying again. */
  retryAfter?: number;
}

const GENERIC: Record<string, string> = {
  UNAUTHENTICATED: "You are signed out. Sign in to continue.",
  FORBIDDEN: "You are not allowed to do that (a private account shows its content only to approved followers).",
  NOT_FOUND: "That does not exist (any more).",
  QUERY_TOO_COMPLEX: "That request asks for too much at once.",
  UNAVAILABLE: "Part of the service is unavailable right now. Try again in a moment.",
  PERSISTED_QUERY_NOT_FOUND: "The server does not know this version of the app. Reload the page.",
  INTERNAL_SERVER_ERROR: "Something went wrong on our side. Try again later.",
  NETWORK: "Cannot reach the server. Check your connection and try again.",
};

/** The first error of a failed operation, with a message a person can act on. */
export function toAppError(error: CombinedError): AppError {
  const gql = error.graphQLErrors[0];
  if (!gql) return { code: "NETWORK", message: GENERIC.NETWORK };
  const ext = (gql.extensions ?? {}) as Record<string, unknown>;
  const code = typeof ext.code === "string" ? ext.code : "INTERNAL_SERVER_ERROR";
  switch (code) {
    case "BAD_USER_INPUT":
      // The server's message names the field and the rule (e.g. password length).
      return { code, message: gql.message };
    case "RATE_LIMITED": {
      const wait = Math.max(1, Math.ceil(Number(ext.retryAfter) || 1));
      return { code, message: "Too many requests.", retryAfter: wait };
    }
    case "QUERY_TOO_COMPLEX": {
      const cost = ext.cost as { requested?: number; maximum?: number } | undefined;
      const detail = cost?.requested ? ` (cost ${cost.requested}, at most ${cost.maximum})` : "";
      return { code, message: GENERIC.QUERY_TOO_COMPLEX + detail };
    }
    case "FORBIDDEN":
    case "NOT_FOUND":
      return { code, message: gql.message || GENERIC[code] };
    default:
      return { code, message: GENERIC[code] ?? GENERIC.INTERNAL_SERVER_ERROR };
  }
}
