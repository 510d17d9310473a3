import { useEffect, useState } from "react";

// Hash routes (#/u/alice): the built files work from any static server,
// with no rewrite rules (nginx serves dist/ as it is).
export type Route =
  | { name: "feed" }
  | { name: "signin" }
  | { name: "signup" }
  | { name: "upload" }
  | { name: "photo"; id: string }
  | { name: "profile"; username: string }
  | { name: "requests" }
  | { name: "activity" }
  | { name: "search" }
  | { name: "settings" };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  switch (parts[0]) {
    case "signin":
    case "signup":
    case "upload":
    case "requests":
    case "activity":
    case "search":
    case "settings":
      return { name: parts[0] };
    case "p":
      if (parts[1]) return { name: "photo", id: parts[1] };
      break;
    case "u":
      if (parts[1]) return { name: "profile", username: parts[1] };
      break;
  }
  return { name: "feed" };
}

export function href(route: Route): string {
  switch (route.name) {
    case "feed":
      return "#/";
    case "photo":
      return `#/p/${encodeURIComponent(route.id)}`;
    case "profile":
      return `#/u/${encodeURIComponent(route.username)}`;
    default:
      return `#/${route.name}`;
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
