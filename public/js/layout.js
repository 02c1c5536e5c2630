// @ts-check
/// <reference lib="dom" />
/**
 * The chat's markup, one copy for the page and the <parley-chat> element. Static
 * text only (no user data goes through this string), so innerHTML is safe here.
 */

import { GROUP_PANEL_MARKUP, MEMBERS_BUTTON_MARKUP, NEW_GROUP_MARKUP } from "./group_panel.js";
import { READ_BY_MARKUP } from "./read_by_dialog.js";

const SIGN_IN = `
  <section class="panel signin" aria-labelledby="signin-title">
    <h2 id="signin-title">Sign in</h2>
    <form id="signinForm" class="stack" novalidate>
      <div class="field">
        <label for="userId">User id</label>
        <input id="userId" name="userId" type="text" autocomplete="username"
          maxlength="128" spellcheck="false" placeholder="alice">
      </div>
      <div class="field">
        <label for="username">Display name <span class="muted">(optional)</span></label>
        <input id="username" name="username" type="text" autocomplete="nickname"
          maxlength="64" placeholder="Alice">
      </div>
      <details class="token-details">
        <summary>Token</summary>
        <div class="field">
          <label for="token">Token (JWT)</label>
          <textarea id="token" name="token" rows="3" spellcheck="false" autocomplete="off"
            placeholder="Paste a JWT, or leave empty for a dev token"></textarea>
        </div>
        <button id="devTokenBtn" type="button" class="secondary small">Get dev token</button>
      </details>
      <div class="row">
        <button id="connectBtn" type="submit">Connect</button>
        <button id="disconnectBtn" type="button" class="secondary" disabled>Sign out</button>
      </div>
    </form>
  </section>`;

/** @param {{ signIn: boolean }} options */
export function chatMarkup({ signIn }) {
  return `
<div class="parley-app" data-view="list">
  <header class="topbar">
    <h1>Parley</h1>
    <button id="notifyBtn" type="button" class="secondary small notify" hidden>
      Turn on notifications
    </button>
    <p id="status" class="status" data-kind="signed-out" role="status" aria-live="polite">signed out</p>
  </header>
  <div id="toast" class="toast" role="alert" hidden>
    <span class="toast-text"></span>
    <button type="button" class="toast-dismiss" aria-label="Dismiss">×</button>
  </div>
  <div class="layout">
    <aside class="sidebar" aria-label="Account and conversations">
      ${signIn ? SIGN_IN : ""}
      <section class="panel conversations-panel" aria-labelledby="conversations-title">
        <h2 id="conversations-title">Conversations</h2>
        <form id="searchForm" class="row search" role="search" novalidate>
          <label for="searchText" class="sr-only">Search messages</label>
          <input id="searchText" name="searchText" type="search" maxlength="200"
            spellcheck="false" placeholder="Search messages" disabled>
          <button id="searchBtn" type="submit" class="secondary" disabled>Search</button>
          <button id="searchClear" type="button" class="secondary small" hidden>Clear</button>
        </form>
        <p id="searchStatus" class="muted search-status" role="status" hidden></p>
        <ul id="searchResults" class="search-results" aria-label="Search results" hidden></ul>
        <form id="newChatForm" class="row new-chat" novalidate>
          <label for="partnerId" class="sr-only">New chat with user id</label>
          <input id="partnerId" name="partnerId" type="text" maxlength="128"
            spellcheck="false" placeholder="New chat: user id" disabled>
          <button id="openChatBtn" type="submit" disabled>Open</button>
        </form>${NEW_GROUP_MARKUP}
        <ul id="conversations" class="conversations" aria-label="Conversations"></ul>
        <p id="conversationsEmpty" class="muted empty">No conversations yet.</p>
      </section>
    </aside>

    <section class="chat" aria-labelledby="partnerName">
      <header class="chat-header">
        <button id="backBtn" type="button" class="back secondary small"
          aria-label="Back to conversations">‹ Back</button>
        <div class="chat-title">
          <h2 id="partnerName">No conversation open</h2>
          <p id="partnerStatus" class="presence muted"></p>
        </div>
        <div id="chatActions" class="chat-actions" hidden>
          <button id="muteBtn" type="button" class="secondary small">Mute</button>
          <button id="blockBtn" type="button" class="secondary small">Block</button>${MEMBERS_BUTTON_MARKUP}
        </div>
      </header>${GROUP_PANEL_MARKUP}
      <div class="history" id="history">
        <div class="older">
          <button id="loadOlderBtn" type="button" class="secondary small" hidden>Load older</button>
        </div>
        <div role="log" aria-label="Messages" aria-live="polite" class="log">
          <ul id="messages" class="messages"></ul>
        </div>
        <p id="messagesEmpty" class="muted empty"></p>
      </div>
      <button id="newMessagesBtn" type="button" class="new-messages small" hidden>
        New messages ↓
      </button>
      <p id="typing" class="typing" aria-live="polite" hidden></p>
      <p id="blockedNote" class="blocked-note" role="status" hidden></p>
      <form id="composer" class="composer" novalidate>
        <div id="composeContext" class="compose-context" hidden></div>
        <div id="attachment" class="attachment" hidden></div>
        <div class="composer-main">
          <label class="attach-file secondary" for="fileInput" title="Attach a file">
            <span aria-hidden="true">📎</span><span class="sr-only">Attach a file</span>
          </label>
          <input id="fileInput" class="sr-only" name="fileInput" type="file"
            accept="image/*,video/*,audio/*,.pdf,.txt,.csv,.md,.rtf,.docx,.xlsx,.pptx,.odt,.ods,.odp"
            disabled>
          <label for="messageText" class="sr-only">Message</label>
          <textarea id="messageText" name="messageText" rows="1" maxlength="5000"
            autocomplete="off" placeholder="Write a message…" disabled></textarea>
          <button id="sendBtn" type="submit" disabled>Send</button>
        </div>
        <details id="byUrl" class="by-url">
          <summary>Attach by URL</summary>
          <div class="attach-grid">
            <div class="field">
              <label for="fileUrl">File URL</label>
              <input id="fileUrl" name="fileUrl" type="url" maxlength="2048"
                placeholder="https://example.com/photo.jpg" disabled>
            </div>
            <div class="field">
              <label for="fileName">File name</label>
              <input id="fileName" name="fileName" type="text" maxlength="255"
                placeholder="photo.jpg" disabled>
            </div>
            <div class="field">
              <label for="fileType">File type</label>
              <select id="fileType" name="fileType" disabled>
                <option value="image">image</option>
                <option value="video">video</option>
                <option value="audio">audio</option>
                <option value="document" selected>document</option>
              </select>
            </div>
            <div class="field">
              <label for="fileSize">Size (bytes)</label>
              <input id="fileSize" name="fileSize" type="number" min="1" step="1"
                inputmode="numeric" placeholder="12345" disabled>
            </div>
          </div>
        </details>
      </form>
    </section>
  </div>
  <dialog id="reportDialog" class="report-dialog" aria-labelledby="reportTitle">
    <form class="stack" novalidate>
      <h2 id="reportTitle">Report message</h2>
      <p class="report-about muted"></p>
      <fieldset class="reasons">
        <legend>Reason</legend>
        <label><input type="radio" name="reason" value="spam" checked> Spam</label>
        <label><input type="radio" name="reason" value="abuse"> Abuse</label>
        <label><input type="radio" name="reason" value="harassment"> Harassment</label>
        <label><input type="radio" name="reason" value="other"> Other</label>
      </fieldset>
      <div class="field">
        <label for="reportNote">Note <span class="muted">(optional)</span></label>
        <textarea id="reportNote" name="note" rows="3" maxlength="1000"></textarea>
      </div>
      <div class="row">
        <button type="submit" value="report">Submit report</button>
        <button type="submit" value="cancel" class="secondary">Cancel</button>
      </div>
    </form>
  </dialog>${READ_BY_MARKUP}
</div>`;
}
