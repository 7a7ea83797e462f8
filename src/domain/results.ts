/** The results object of contract §7: the public one is PUT to the Hub and shown on the leaderboard. */
export interface ResultsObject {
  readonly module: 'submission';
  readonly number_of_files: number;
  readonly mean_runtime: number | null;
  readonly median_runtime: number | null;
  readonly function_parameters: readonly string[];
  readonly data_requirements: readonly string[];
  readonly metrics: Readonly<Record<string, number | null>>;
}
