import * as fs from 'node:fs';
import * as path from 'node:path';

const LIMIT = 12;

/** Recently opened images, kept as JSON in the user data folder. */
export class RecentImages {
  private list: string[];

  constructor(private readonly file: string) {
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
      this.list = Array.isArray(parsed) ? parsed.filter((p) => typeof p === 'string') : [];
    } catch {
      this.list = [];
    }
  }

  get items(): string[] {
    return [...this.list];
  }

  add(imagePath: string): void {
    this.list = [imagePath, ...this.list.filter((p) => p !== imagePath)].slice(0, LIMIT);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify(this.list, null, 2));
  }
}
