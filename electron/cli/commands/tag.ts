import type { Command } from 'commander';
import { UserError } from '../../services/user-error';
import { toSnakeCase } from '../../../shared/util/wire';
import { printJson, type CliIO } from '../output';
import { databasePath, withDbOption } from './library-options';

/** `migwb tag TAG IMAGE…`: tags stored in the library (the app's library view shows and filters them). */
export function registerTag(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withDbOption(program.command('tag').description('add a tag to indexed images (or remove it); tags stay with an image when its file is renamed'))
    .argument('<tag>', 'the tag: no spaces or commas')
    .argument('<images...>', 'images of the library')
    .option('--remove', 'remove the tag instead')
    .option('--json', 'machine-readable output')
    .action(async (tag: string, images: string[], opts: { db?: string; remove?: boolean; json?: boolean }) => {
      const { Library } = await import('../../index/library');
      const library = Library.open(databasePath(opts), { mustExist: true });
      try {
        const ids = images.map((i) => library.idOf(i));
        if (opts.remove) library.untag(ids, [tag]);
        else library.tag(ids, [tag]);
        const rows = library.byIds(ids);
        if (opts.json) printJson(io, toSnakeCase({ database: library.file, images: rows.map((r) => ({ path: r.path, tags: r.tags })) }));
        else for (const r of rows) io.out(`${r.path}: ${r.tags.length ? r.tags.join(', ') : '(no tags)'}\n`);
      } finally {
        library.close();
      }
      setExit(0);
    });
}

/** `migwb note IMAGE [TEXT]`: the user's notes on an image, kept in the library. */
export function registerNote(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withDbOption(program.command('note').description('add a note to an indexed image, or list its notes; notes stay with an image when its file is renamed'))
    .argument('<image>', 'an image of the library')
    .argument('[text]', 'the note to add (without it, the notes are listed)')
    .option('--delete <id>', 'delete the note with this id')
    .option('--json', 'machine-readable output')
    .action(async (image: string, text: string | undefined, opts: { db?: string; delete?: string; json?: boolean }) => {
      const { Library } = await import('../../index/library');
      const library = Library.open(databasePath(opts), { mustExist: true });
      try {
        const id = library.idOf(image);
        if (opts.delete !== undefined) {
          if (!/^\d+$/.test(opts.delete)) throw new UserError(`--delete takes the number of a note (#12 in the list), not ${JSON.stringify(opts.delete)}`);
          library.deleteNote(Number(opts.delete));
        }
        if (text !== undefined) library.addNote(id, text);
        const notes = library.notes(id);
        if (opts.json) printJson(io, toSnakeCase({ database: library.file, image: library.byIds([id])[0].path, notes }));
        else io.out(notes.length ? notes.map((n) => `#${n.id}  ${n.createdAt.replace('T', ' ').slice(0, 19)}  ${n.text}`).join('\n') + '\n' : 'no notes\n');
      } finally {
        library.close();
      }
      setExit(0);
    });
}
