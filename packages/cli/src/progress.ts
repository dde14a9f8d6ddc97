import type { PlanProgress } from '@sdmi/sdk';
import type { Io } from './commands';

/**
 * Progress of a long command on stderr: one line per resource. On a terminal the block of lines
 * is redrawn in place; elsewhere (CI logs, pipes) a line is printed only when it changes.
 */
export class Progress {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private ended = false;

  constructor(
    private readonly io: Io,
    private readonly verb: string,
  ) {}

  update(p: PlanProgress): void {
    const id = `${p.change.kind} ${p.change.id}`;
    const text = p.phase === 'start' ? `${p.change.action}...` : p.phase === 'done' ? `${p.change.action} done` : (p.detail ?? 'waiting');
    this.line(id, text);
  }

  line(id: string, text: string): void {
    if (this.ended || this.lines.get(id) === text) return;
    this.lines.set(id, text);
    if (!this.io.tty) {
      this.io.err(`${this.verb}: ${id}: ${text}`);
      return;
    }
    // Move up over the block drawn last time and draw it again, so each resource keeps one line.
    const block = [...this.lines].map(([k, v]) => `\x1b[2K${this.verb}: ${k}: ${v}`);
    this.io.err(`${this.drawn > 0 ? `\x1b[${this.drawn}A\r` : ''}${block.join('\n')}`);
    this.drawn = block.length;
  }

  end(): void {
    this.ended = true;
  }
}
