/** Both directions of a conversation share one key: the two ids in sorted order. */
export function conversationKey(userA: string, userB: string): [string, string] {
  return userA < userB ? [userA, userB] : [userB, userA];
}
