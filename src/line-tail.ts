// Keeps the last lines a worker wrote to stderr, so a failed start can say why.

/** A bounded buffer of the last complete lines of a stream, plus the partial line being written. */
export class LineTail {
  readonly #maxLines: number;
  readonly #maxLineLength: number;
  readonly #lines: string[] = [];
  #partial = '';

  constructor(maxLines = 20, maxLineLength = 500) {
    this.#maxLines = maxLines;
    this.#maxLineLength = maxLineLength;
  }

  push(chunk: string): void {
    const parts = (this.#partial + chunk).split(/\r?\n/);
    this.#partial = this.#clip(parts.pop() ?? '');
    for (const line of parts) this.#add(line);
  }

  /** The last lines, oldest first, including a partial last line; blank lines are left out. */
  lines(): string[] {
    const all = this.#partial ? [...this.#lines, this.#partial] : [...this.#lines];
    return all.slice(-this.#maxLines);
  }

  #add(line: string): void {
    if (line.trim() === '') return;
    this.#lines.push(this.#clip(line));
    if (this.#lines.length > this.#maxLines) this.#lines.shift();
  }

  #clip(line: string): string {
    return line.length > this.#maxLineLength ? `${line.slice(0, this.#maxLineLength)}...` : line;
  }
}
