/**
 * The list of subcommands. Each module exports `register(program)`; add a line per command.
 */
import type { Command } from 'commander';

export function registerCommands(program: Command): void {
  void program;
}
