const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARNING',
  50: 'ERROR',
  60: 'CRITICAL',
};

/**
 * The text logs the Hub's maintainers know (contract §9) from the pino JSON lines: submission.log with every line
 * at INFO and above as `[LEVEL|module] time: message`, and submission.error.log with ERROR and above.
 */
export function textLogs(jsonl: string): { all: string; errors: string } {
  const all: string[] = [];
  const errors: string[] = [];
  for (const line of jsonl.split('\n')) {
    if (line.trim() === '') continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const level = typeof record['level'] === 'number' ? record['level'] : 30;
    if (level < 30) continue;
    const where = [record['stage'], record['file']].filter((part) => typeof part === 'string').join('/') || 'worker';
    const code = typeof record['code'] === 'string' ? ` [${record['code']}]` : '';
    const text = `[${LEVELS[level] ?? level}|${where}] ${String(record['time'] ?? '')}: ${String(record['msg'] ?? '')}${code}`;
    all.push(text);
    if (level >= 50) errors.push(text);
  }
  const join = (lines: string[]) => (lines.length > 0 ? `${lines.join('\n')}\n` : '');
  return { all: join(all), errors: join(errors) };
}
