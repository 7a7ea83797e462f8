/** The configuration's reading of the environment: typed values, and every problem with them at once. */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i;
const UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "8g", "512m", "1.5GiB", "1048576" → bytes. */
export function parseByteSize(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * (UNIT[(match[2] ?? '').toLowerCase()] ?? NaN);
  return Number.isFinite(bytes) && bytes > 0 ? Math.floor(bytes) : undefined;
}

/** Reads settings from the environment, collecting every problem instead of stopping at the first. */
export class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  text(name: string, fallback: string): string {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? fallback : value.trim();
  }

  optional(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  bytes(name: string, fallback: string): number {
    const text = this.text(name, fallback);
    const bytes = parseByteSize(text);
    if (bytes === undefined) this.problems.push(`${name}=${text} is not a size like 512m or 8g`);
    return bytes ?? 1;
  }

  number(name: string, fallback: number, min: number): number {
    const text = this.optional(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) {
      this.problems.push(`${name}=${text} must be a number of at least ${min}`);
      return fallback;
    }
    return value;
  }

  choice(name: string, fallback: string, allowed: readonly string[]): string {
    const text = this.text(name, fallback);
    if (!allowed.includes(text)) this.problems.push(`${name}=${text} must be one of ${allowed.join(', ')}`);
    return text;
  }

  flag(name: string, fallback: boolean): boolean {
    const text = this.optional(name);
    if (text === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off)$/i.test(text)) return false;
    this.problems.push(`${name}=${text} must be true or false`);
    return fallback;
  }

  url(name: string, fallback: string | undefined): string | undefined {
    const text = this.optional(name) ?? fallback;
    if (text === undefined) return undefined;
    try {
      new URL(text);
    } catch {
      this.problems.push(`${name}=${text} is not a URL`);
    }
    return text;
  }

  /**
   * The API login, as one pair: main's names (valhub_admin_username/_password) when both are set, else develop's
   * (worker_username/_password); a pair with one half missing is a problem, never mixed with the other pair.
   */
  credentials(): { username: string | undefined; password: string | undefined } {
    for (const [user, pass] of [
      ['valhub_admin_username', 'valhub_admin_password'],
      ['worker_username', 'worker_password'],
    ] as const) {
      const username = this.optional(user);
      const password = this.optional(pass);
      if (username !== undefined && password !== undefined) return { username, password };
      if (username !== undefined || password !== undefined)
        this.problems.push(`${username === undefined ? user : pass} is missing (${user} and ${pass} go together)`);
    }
    return { username: undefined, password: undefined };
  }

  /** An image repository as the engine names it: `[registry[:port]/]path`, lower case, no tag. */
  imageRepository(name: string, fallback: string): string {
    const text = this.text(name, fallback);
    if (!/^[a-z0-9.-]+(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(text)) {
      this.problems.push(
        `${name}=${text} is not an image repository like python or 123456789012.dkr.ecr.us-west-2.amazonaws.com/python`,
      );
    }
    return text;
  }

  /** A comma-separated list, each item parsed; undefined when the setting is unset. */
  list<T extends string | object>(
    name: string,
    parse: (item: string) => T | { readonly problem: string },
  ): T[] | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    return text.split(',').flatMap((item) => {
      if (item.trim() === '') return [];
      const parsed = parse(item);
      if (typeof parsed === 'object' && 'problem' in parsed) {
        this.problems.push(`${name}: ${parsed.problem}`);
        return [];
      }
      return [parsed];
    });
  }

  /** A URL the worker calls over plain HTTP(S). */
  httpUrl(name: string, fallback: string): string {
    const text = this.url(name, fallback) ?? fallback;
    if (URL.canParse(text) && !/^https?:$/.test(new URL(text).protocol))
      this.problems.push(`${name}=${text} must be an http or https URL`);
    return text;
  }
}
