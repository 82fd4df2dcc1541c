/** Sizes as the CLI and the app show them (the renderer reaches shared code only through shared/api). */
export { humanSize } from '../util/size';
