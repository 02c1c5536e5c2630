// @ts-check
/// <reference lib="dom" />
/** The page at `/`: the chat with its sign-in form, the sign-in kept for this tab's session. */
import { mountChat } from "./js/chat_app.js";

mountChat(document.body, { server: location.origin, signIn: true, remember: true });
