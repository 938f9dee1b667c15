// The HTTP API (docs/api.md): JSON over fetch, the bearer token kept in localStorage.

const TOKEN_KEY = "inkroom.token";
const USER_KEY = "inkroom.user";

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.details = error.details;
  }
}

export const auth = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  get user() {
    try {
      return JSON.parse(localStorage.getItem(USER_KEY) || "null");
    } catch {
      return null;
    }
  },
  save(token, user) {
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
  },
};

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) auth.clear();
    throw new ApiError(response.status, data);
  }
  return data;
}

export const api = {
  signup: (email, password, displayName) =>
    request("POST", "/api/auth/signup", { email, password, display_name: displayName }),
  login: (email, password) => request("POST", "/api/auth/login", { email, password }),
  me: () => request("GET", "/api/me"),
  courses: () => request("GET", "/api/courses"),
  lesson: (slug) => request("GET", `/api/lessons/${encodeURIComponent(slug)}`),
  attempts: () => request("GET", "/api/me/attempts?limit=50"),
  progress: () => request("GET", "/api/me/progress"),
  sessions: () => request("GET", "/api/me/sessions?limit=50"),
  attemptReplay: (id) => request("GET", `/api/attempts/${encodeURIComponent(id)}/replay`),
  stepReplay: (id, step) =>
    request("GET", `/api/sessions/${encodeURIComponent(id)}/steps/${Number(step)}/replay`),
};

// Lessons by slug and by id (the catalog is public and small: fetched once a page load).
let catalogPromise = null;
export function catalog() {
  catalogPromise ??= api.courses().then(({ courses }) => {
    const bySlug = new Map();
    const byId = new Map();
    for (const course of courses) {
      for (const lesson of course.lessons) {
        bySlug.set(lesson.slug, lesson);
        byId.set(lesson.id, lesson);
      }
    }
    return { courses, bySlug, byId };
  });
  catalogPromise.catch(() => (catalogPromise = null));
  return catalogPromise;
}
