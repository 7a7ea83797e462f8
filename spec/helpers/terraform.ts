import { python } from './cli.js';

/**
 * A Terraform module read with a real HCL parser (python-hcl2 in the host environment, installed by
 * scripts/setup.sh): every *.tf file of a folder, merged by top-level block type. Strings come unquoted; an
 * expression stays as its text wrapped in "${…}", e.g. "${var.bucket_name}".
 */
export type Body = Record<string, unknown>;

export interface TerraformModule {
  /** `resource "type" "name" { … }` and `data "type" "name" { … }` bodies, by type then name. */
  readonly resources: Record<string, Record<string, Body>>;
  readonly data: Record<string, Record<string, Body>>;
  readonly locals: Body;
  readonly variables: Record<string, Body>;
}

const PARSE = `
import glob, json, os, sys
import hcl2
from hcl2.utils import SerializationOptions
options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
parsed = {}
for file in sorted(glob.glob(os.path.join(sys.argv[1], '*.tf'))):
    with open(file) as text:
        parsed[os.path.basename(file)] = hcl2.load(text, serialization_options=options)
print(json.dumps(parsed))
`;

type Labelled = Record<string, Record<string, Body>>;

function merge(into: Record<string, Record<string, Body>>, blocks: readonly Labelled[] | undefined): void {
  for (const block of blocks ?? []) {
    for (const [type, named] of Object.entries(block)) into[type] = { ...into[type], ...named };
  }
}

export async function readTerraform(folder: string): Promise<TerraformModule> {
  const output = await python(PARSE, [folder]).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n(the HCL parser is installed by bash scripts/setup.sh --tests)`);
  });
  const files = JSON.parse(output) as Record<string, Record<string, unknown[]>>;
  const resources: Record<string, Record<string, Body>> = {};
  const data: Record<string, Record<string, Body>> = {};
  const locals: Body = {};
  const variables: Record<string, Body> = {};
  for (const file of Object.values(files)) {
    merge(resources, file['resource'] as Labelled[] | undefined);
    merge(data, file['data'] as Labelled[] | undefined);
    for (const block of (file['locals'] ?? []) as Body[]) Object.assign(locals, block);
    for (const block of (file['variable'] ?? []) as Array<Record<string, Body>>) Object.assign(variables, block);
  }
  return { resources, data, locals, variables };
}

/** The address an expression names, when it is exactly one reference: "${aws_iam_role.task.arn}" → "aws_iam_role.task.arn". */
export function reference(value: unknown): string | undefined {
  const match = typeof value === 'string' ? /^\$\{([\w.-]+)\}$/.exec(value) : null;
  return match?.[1];
}

/**
 * A value with its variables at their defaults (an error for one without): "${var.x}" is x's default as it is
 * (a number stays a number), and "arn:${var.x}/…" has it in the text.
 */
export function withDefaults(module: TerraformModule, value: unknown): unknown {
  const defaultOf = (name: string): unknown => {
    const variable = module.variables[name];
    if (variable === undefined || !('default' in variable)) throw new Error(`variable ${name} has no default`);
    return variable['default'];
  };
  const whole = reference(value)?.match(/^var\.(\w+)$/)?.[1];
  if (whole !== undefined) return defaultOf(whole);
  return typeof value === 'string'
    ? value.replace(/\$\{var\.(\w+)\}/g, (_, name: string) => String(defaultOf(name)))
    : value;
}
