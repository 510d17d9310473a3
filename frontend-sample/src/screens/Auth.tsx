import { useState } from "react";
import type { AppError } from "../errors";
import { LogInDocument, SignUpDocument } from "../gql/graphql";
import { href, navigate } from "../router";
import { run, useSession } from "../session";
import { ErrorBanner, Field } from "../ui";

/** Sign in and sign up: one form, two mutations. */
export function AuthScreen({ mode }: { mode: "signin" | "signup" }) {
  const { client, signIn } = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState("");
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const signingUp = mode === "signup";

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = signingUp
      ? await run(client, "mutation", SignUpDocument, { username, password, email: email || null })
      : await run(client, "mutation", LogInDocument, { username, password });
    setBusy(false);
    if (result.error) {
      setError(result.error);
      return;
    }
    const data = result.data;
    const token = "signUp" in data ? data.signUp.token : data.logIn.token;
    await signIn(token);
    navigate({ name: "feed" });
  }

  return (
    <section className="narrow" aria-labelledby="auth-title">
      <h1 id="auth-title">{signingUp ? "Create an account" : "Sign in"}</h1>
      <form onSubmit={submit}>
        <Field label="Username" id="username">
          <input id="username" name="username" autoComplete="username" required value={username}
            onChange={(e) => setUsername(e.target.value)} />
        </Field>
        <Field label="Password" id="password">
          <input id="password" name="password" type="password" required
            autoComplete={signingUp ? "new-password" : "current-password"}
            value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        {signingUp && (
          <Field label="Email (optional)" id="email">
            <input id="email" name="email" type="email" autoComplete="email" value={email}
              onChange={(e) => setEmail(e.target.value)} />
          </Field>
        )}
        <ErrorBanner error={error} />
        <button type="submit" disabled={busy}>{signingUp ? "Sign up" : "Sign in"}</button>
      </form>
      <p>
        {signingUp ? (
          <>Have an account? <a href={href({ name: "signin" })}>Sign in</a></>
        ) : (
          <>New here? <a href={href({ name: "signup" })}>Create an account</a></>
        )}
      </p>
    </section>
  );
}
