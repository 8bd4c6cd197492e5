/**
 * The `medprobe` command.
 *
 * @module
 */
if (import.meta.main) {
  // filled in by the foundation issue
}
