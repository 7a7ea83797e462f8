import { concat, concatMap, type Observable, of, type OperatorFunction } from 'rxjs';

/**
 * Chains the steps of a job: every event passes through, and after each event of `type` the stream goes on with the
 * events of `project(event)`, the next step, which starts from what that event carries. Events of other types pass
 * through untouched.
 *
 * ```
 * source:         -s-|         (s of the type)
 * project(s):       --a-b|
 * result:         -s--a-b|
 * ```
 */
export function afterEvent<E extends { readonly type: string }, K extends E['type'], R>(
  type: K,
  project: (event: Extract<E, { readonly type: K }>) => Observable<R>,
): OperatorFunction<E, E | R> {
  const isOfType = (event: E): event is Extract<E, { readonly type: K }> => event.type === type;
  return concatMap((event) => (isOfType(event) ? concat(of(event), project(event)) : of(event)));
}
