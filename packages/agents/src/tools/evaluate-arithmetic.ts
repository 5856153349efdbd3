/**
 * Evaluates an arithmetic expression without `eval`: numbers, `+ - * / %`, `^` or `**` (power,
 * right-associative), parentheses, unary signs, the constants `pi` and `e`, and the functions
 * `sqrt abs round floor ceil min max`. Throws `ArithmeticError` with the position of the problem.
 */
export function evaluateArithmetic(expression: string): number {
  const parser = new Parser(tokenize(expression));
  const value = parser.expression(0);
  parser.expectEnd();
  if (!Number.isFinite(value)) throw new ArithmeticError("the result is not a finite number");
  return value;
}

export class ArithmeticError extends Error {
  override name = "ArithmeticError";
}

type Token =
  | { kind: "number"; value: number; at: number }
  | { kind: "op" | "name"; text: string; at: number };

const MAX_DEPTH = 64;
// Maps, not object literals: a name like `constructor` must not reach Object.prototype.
const CONSTANTS = new Map<string, number>([
  ["pi", Math.PI],
  ["e", Math.E],
]);
const FUNCTIONS = new Map<string, { arity: [number, number]; fn: (...args: number[]) => number }>([
  ["sqrt", { arity: [1, 1], fn: Math.sqrt }],
  ["abs", { arity: [1, 1], fn: Math.abs }],
  ["round", { arity: [1, 1], fn: Math.round }],
  ["floor", { arity: [1, 1], fn: Math.floor }],
  ["ceil", { arity: [1, 1], fn: Math.ceil }],
  ["min", { arity: [1, 16], fn: Math.min }],
  ["max", { arity: [1, 16], fn: Math.max }],
]);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(\*\*|[-+*/%^(),])|([a-zA-Z_]\w*))/y;
  let at = 0;
  while (at < source.length) {
    if (/^\s*$/.test(source.slice(at))) break;
    pattern.lastIndex = at;
    const match = pattern.exec(source);
    if (!match)
      throw new ArithmeticError(`unexpected character "${source.slice(at).trim()[0]}" at ${at + 1}`);
    const start = at + (match[0].length - match[0].trimStart().length);
    if (match[1] !== undefined) tokens.push({ kind: "number", value: Number(match[1]), at: start });
    else if (match[2] !== undefined) tokens.push({ kind: "op", text: match[2], at: start });
    else tokens.push({ kind: "name", text: (match[3] ?? "").toLowerCase(), at: start });
    at = pattern.lastIndex;
  }
  return tokens;
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  expression(depth: number): number {
    if (depth > MAX_DEPTH) throw new ArithmeticError(`nested deeper than ${MAX_DEPTH} levels`);
    let value = this.term(depth);
    while (this.peekOp("+") || this.peekOp("-")) {
      const op = this.next();
      const right = this.term(depth);
      value = op === "+" ? value + right : value - right;
    }
    return value;
  }

  expectEnd(): void {
    const token = this.tokens[this.index];
    if (token) throw new ArithmeticError(`unexpected "${describe(token)}" at ${token.at + 1}`);
  }

  private term(depth: number): number {
    let value = this.unary(depth);
    while (this.peekOp("*") || this.peekOp("/") || this.peekOp("%")) {
      const op = this.next();
      const right = this.unary(depth);
      if ((op === "/" || op === "%") && right === 0) throw new ArithmeticError("division by zero");
      value = op === "*" ? value * right : op === "/" ? value / right : value % right;
    }
    return value;
  }

  private unary(depth: number): number {
    if (depth > MAX_DEPTH) throw new ArithmeticError(`nested deeper than ${MAX_DEPTH} levels`);
    if (this.peekOp("-") || this.peekOp("+")) {
      const sign = this.next() === "-" ? -1 : 1;
      return sign * this.unary(depth + 1);
    }
    const base = this.primary(depth);
    if (this.peekOp("^") || this.peekOp("**")) {
      this.next();
      return base ** this.unary(depth + 1);
    }
    return base;
  }

  private primary(depth: number): number {
    const token = this.tokens[this.index++];
    if (!token) throw new ArithmeticError("the expression ends too early");
    if (token.kind === "number") return token.value;
    if (token.kind === "op" && token.text === "(") {
      const value = this.expression(depth + 1);
      this.expectOp(")");
      return value;
    }
    if (token.kind === "name") {
      const constant = CONSTANTS.get(token.text);
      if (constant !== undefined) return constant;
      const fn = FUNCTIONS.get(token.text);
      if (!fn) throw new ArithmeticError(`unknown name "${token.text}" at ${token.at + 1}`);
      this.expectOp("(");
      const args = [this.expression(depth + 1)];
      while (this.peekOp(",")) {
        this.next();
        args.push(this.expression(depth + 1));
      }
      this.expectOp(")");
      const [lo, hi] = fn.arity;
      if (args.length < lo || args.length > hi) {
        throw new ArithmeticError(`${token.text}() takes ${lo === hi ? lo : `${lo} to ${hi}`} argument(s)`);
      }
      return fn.fn(...args);
    }
    throw new ArithmeticError(`unexpected "${describe(token)}" at ${token.at + 1}`);
  }

  private peekOp(text: string): boolean {
    const token = this.tokens[this.index];
    return token?.kind === "op" && token.text === text;
  }

  private expectOp(text: string): void {
    const token = this.tokens[this.index];
    if (!this.peekOp(text)) {
      throw new ArithmeticError(
        token ? `expected "${text}" at ${token.at + 1}` : `expected "${text}" at the end`,
      );
    }
    this.index++;
  }

  /** Consumes an operator token and returns its text. */
  private next(): string {
    const token = this.tokens[this.index++];
    return token && token.kind !== "number" ? token.text : "";
  }
}

function describe(token: Token): string {
  return token.kind === "number" ? String(token.value) : token.text;
}
