/** Reading REST answers in tests. */

/** The status and parsed JSON body of a response. */
export async function jsonOf(res: Response) {
  return { status: res.status, body: await res.json() };
}
