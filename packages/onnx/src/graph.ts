import type { DType } from './dtype';
import type { TensorData } from './tensor';
import { tensor } from './tensor';

/** A named edge of the graph. Symbolic dims are strings ("seq"), fixed dims numbers. */
export interface Value {
  readonly name: string;
}

export type Dim = number | string;

/** Forces a numeric attribute to be a float (integers are INT attributes otherwise). */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export const float = (value: number) => new FloatAttr(value);

/**
 * A graph-valued attribute (If's branches): its nodes read the enclosing graph's values by name and take
 * no inputs of their own.
 */
export class SubgraphAttr {
  constructor(readonly graph: GraphBuilder) {}
}

export type AttrValue = number | FloatAttr | string | number[] | FloatAttr[] | TensorData | SubgraphAttr;

export interface Node {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[];
}

/** One output of a subgraph: the value and its declared type. */
export interface SubgraphOutput {
  value: Value;
  dtype: DType;
  shape: Dim[];
}

export interface OpOptions {
  domain?: string;
  /** Output names; defaults to generated ones. */
  names?: string[];
}

/**
 * Builds an ONNX graph one op at a time. Every op returns the Values it produces, so model code reads
 * like the math: `const scores = g.op('MatMul', [q, kT])`.
 */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly initializers = new Map<string, TensorData>();
  private counter = 0;
  private readonly constants = new Map<string, Value>();

  /** `parent`: the enclosing graph of a subgraph, which names its values and holds its initializers. */
  constructor(
    readonly name = 'kvbench',
    private readonly parent?: GraphBuilder,
  ) {}

  /** A fresh unique name with a readable prefix (unique across the enclosing graph and its subgraphs). */
  fresh(prefix: string): string {
    return this.parent ? this.parent.fresh(prefix) : `${prefix}_${this.counter++}`;
  }

  /**
   * A subgraph for a graph attribute: `build` adds its nodes and returns its outputs with their dtype and
   * shape. Initializers and constants it makes go to the outermost graph (ORT reads a subgraph's outer
   * values by name; a weight both branches of an If use is one initializer).
   */
  subgraph(name: string, build: (b: GraphBuilder) => SubgraphOutput[]): SubgraphAttr {
    const b = new GraphBuilder(this.fresh(name), this);
    const outputs = build(b);
    // A branch output must be produced inside the branch: an outer value passes through an Identity.
    const produced = new Set(b.nodes.flatMap((n) => n.outputs));
    for (const { value, dtype, shape } of outputs) {
      const out = produced.has(value.name) ? value : b.op('Identity', [value]);
      b.outputs.push({ name: out.name, dtype, shape });
    }
    return new SubgraphAttr(b);
  }

  input(name: string, dtype: DType, shape: Dim[]): Value {
    if (this.inputs.some((i) => i.name === name)) throw new Error(`graph input "${name}" declared twice`);
    this.inputs.push({ name, dtype, shape });
    return { name };
  }

  /** Marks `value` as a graph output, renaming it through an Identity when the name differs. */
  output(value: Value, name: string, dtype: DType, shape: Dim[]): Value {
    let v = value;
    if (value.name !== name) v = this.op('Identity', [value], {}, { names: [name] });
    this.outputs.push({ name, dtype, shape });
    return v;
  }

  initializer(name: string, data: TensorData): Value {
    if (this.parent) return this.parent.initializer(name, data);
    if (this.initializers.has(name)) throw new Error(`initializer "${name}" declared twice`);
    this.initializers.set(name, data);
    return { name };
  }

  /** A constant initializer, deduplicated by content for small constants. */
  constant(dtype: DType, dims: number[], values: number[]): Value {
    if (this.parent) return this.parent.constant(dtype, dims, values);
    const key = `${dtype}|${dims.join(',')}|${values.join(',')}`;
    const small = values.length <= 64;
    if (small && this.constants.has(key)) return this.constants.get(key)!;
    const v = this.initializer(this.fresh(`const_${dtype}`), tensor(dtype, dims, values));
    if (small) this.constants.set(key, v);
    return v;
  }

  /** int64 1-D constant, as shape/axes/starts inputs want. */
  ints(values: number[]): Value {
    return this.constant('int64', [values.length], values);
  }

  /** Scalar constant (rank 0). */
  scalar(dtype: DType, value: number): Value {
    return this.constant(dtype, [], [value]);
  }

  op(opType: string, inputs: (Value | null)[], attributes: Record<string, AttrValue> = {}, options: OpOptions = {}): Value {
    return this.opN(opType, inputs, 1, attributes, options)[0];
  }

  opN(
    opType: string,
    inputs: (Value | null)[],
    outputCount: number,
    attributes: Record<string, AttrValue> = {},
    options: OpOptions = {},
  ): Value[] {
    const outputs = options.names ?? Array.from({ length: outputCount }, () => this.fresh(opType));
    if (outputs.length !== outputCount) throw new Error(`${opType}: ${outputs.length} names for ${outputCount} outputs`);
    this.nodes.push({
      opType,
      domain: options.domain ?? '',
      name: this.fresh(`n_${opType}`),
      // An empty name marks an omitted optional input.
      inputs: inputs.map((v) => (v ? v.name : '')),
      outputs,
      attributes,
    });
    return outputs.map((name) => ({ name }));
  }
}
