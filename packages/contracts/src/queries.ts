// A query is a core-NATS request/reply that changes nothing and is not recorded (unlike a task).
// Its contract is its name and the $ids of its request and reply schemas; the types ride along so
// that the client and the server of a query agree on them at compile time as well.

export interface QueryContract<Req, Res> {
  /** The last token of the subject: `<prefix>.query.<service>.<name>`. */
  readonly name: string;
  /** $id of the request's schema. */
  readonly request: string;
  /** $id of the reply's schema (the `result` of a QueryReply). */
  readonly reply: string;
  /** Types only; never set. */
  readonly types?: { readonly request: Req; readonly reply: Res };
}

/** Names must be subject tokens and read like the command kinds (camelCase). */
const QUERY_NAME = /^[a-z][A-Za-z0-9]{0,63}$/;

export function queryContract<Req, Res>(name: string, request: string, reply: string): QueryContract<Req, Res> {
  if (!QUERY_NAME.test(name)) throw new Error(`query name "${name}" must be 1-64 letters and digits, starting with a lower-case letter`);
  return Object.freeze({ name, request, reply });
}
