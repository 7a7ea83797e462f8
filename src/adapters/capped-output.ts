/**
 * Keeps the first and the last half of a container's output within the cap: the start says what the submission was
 * doing, the end how it died. What lies between is counted and replaced by a marker.
 */
export class CappedOutput {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private dropped = 0;
  private readonly headLimit: number;
  private readonly tailLimit: number;

  constructor(cap: number) {
    this.headLimit = Math.ceil(cap / 2);
    this.tailLimit = cap - this.headLimit;
  }

  write(chunk: Buffer): void {
    const room = this.headLimit - this.headBytes;
    if (room > 0) {
      this.head.push(chunk.subarray(0, room));
      this.headBytes += Math.min(room, chunk.length);
      chunk = chunk.subarray(room);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    // Trimmed in batches, so a flood of small writes costs linear time.
    if (this.tailBytes > 2 * this.tailLimit + 65_536) this.trim();
  }

  private trim(): void {
    const all = Buffer.concat(this.tail);
    const kept = Buffer.from(all.subarray(Math.max(0, all.length - this.tailLimit)));
    this.dropped += all.length - kept.length;
    this.tail = [kept];
    this.tailBytes = kept.length;
  }

  /** The kept output, with a marker where bytes were dropped. */
  finish(): { text: string; truncated: boolean } {
    this.trim();
    const marker = this.dropped > 0 ? `\n[... ${this.dropped} bytes of output dropped ...]\n` : '';
    const text = Buffer.concat(this.head).toString('utf8') + marker + Buffer.concat(this.tail).toString('utf8');
    return { text, truncated: this.dropped > 0 };
  }
}
