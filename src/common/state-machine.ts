/**
 * A state machine as a table: each state lists the states it may move to. A state
 * with no exits is final. Used for orders and payments so that every transition is
 * checked in one place and a late event can never move a final state backwards.
 */
export class TransitionTable<S extends string> {
  constructor(private readonly table: Readonly<Record<S, readonly S[]>>) {}

  can(from: S, to: S): boolean {
    return this.table[from].includes(to);
  }

  isFinal(state: S): boolean {
    return this.table[state].length === 0;
  }

  get states(): S[] {
    return Object.keys(this.table) as S[];
  }
}
