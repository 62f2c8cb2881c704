/**
 * A deep copy of JSON data. `structuredClone` handles every JS type and is several times slower for
 * the small objects a pod spec is made of; admission copies many of them on every request.
 */
export function copyJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyJson) as T;
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const member = copyJson((value as Record<string, unknown>)[key]);
    // A `__proto__` key from JSON.parse is data: assigning it would set the copy's prototype instead.
    if (key === "__proto__")
      Object.defineProperty(copy, key, {
        value: member,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else copy[key] = member;
  }
  return copy as T;
}
