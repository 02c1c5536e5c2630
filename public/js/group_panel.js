// @ts-check
/// <reference lib="dom" />
/**
 * Making and running groups: the "New group" form of the sidebar (a name and
 * the people), and the open group's Members panel (who is in it and who owns
 * it; the owner adds and removes people; any member renames it or leaves).
 * Each change goes to the server by socket; the group it answers (and the
 * `groupUpdated` every member gets) is what the page then shows.
 */
import { h } from "./dom.js";
import { parseUserIds } from "./groups.js";

/** @typedef {import("../../src/protocol/types.ts").Group} Group */
/** @typedef {import("./connection.js").Connection} Connection */

const ACTION_TIMEOUT_MS = 10_000;

/** The sidebar's "New group" form (static markup; see layout.js). */
export const NEW_GROUP_MARKUP = `
        <details id="newGroup" class="new-group">
          <summary>New group</summary>
          <form id="newGroupForm" class="stack" novalidate>
            <div class="field">
              <label for="groupName">Group name</label>
              <input id="groupName" name="groupName" type="text" maxlength="100"
                spellcheck="false" placeholder="Team" disabled>
            </div>
            <div class="field">
              <label for="groupPeople">People <span class="muted">(user ids)</span></label>
              <input id="groupPeople" name="groupPeople" type="text" spellcheck="false"
                autocomplete="off" placeholder="bob, carol" disabled>
            </div>
            <button id="createGroupBtn" type="submit" disabled>Create group</button>
          </form>
        </details>`;

/** The Members button of a group's header and its panel (static markup; see layout.js). */
export const MEMBERS_BUTTON_MARKUP = `
          <button id="membersBtn" type="button" class="secondary small" aria-expanded="false"
            aria-controls="groupPanel" hidden>Members</button>`;

export const GROUP_PANEL_MARKUP = `
      <section id="groupPanel" class="group-panel" aria-labelledby="groupPanelTitle" hidden>
        <h3 id="groupPanelTitle">Members</h3>
        <ul id="groupMembers" class="group-members"></ul>
        <form id="addPeopleForm" class="row" novalidate>
          <label for="addPeople" class="sr-only">Add people (user ids)</label>
          <input id="addPeople" name="addPeople" type="text" spellcheck="false"
            autocomplete="off" placeholder="Add people: user ids">
          <button id="addPeopleBtn" type="submit" class="secondary">Add</button>
        </form>
        <form id="renameGroupForm" class="row" novalidate>
          <label for="renameGroup" class="sr-only">Rename group</label>
          <input id="renameGroup" name="renameGroup" type="text" maxlength="100"
            spellcheck="false">
          <button id="renameGroupBtn" type="submit" class="secondary">Rename</button>
        </form>
        <button id="leaveGroupBtn" type="button" class="secondary small leave">Leave group</button>
      </section>`;

/**
 * @typedef {object} GroupPanelElements
 * @property {HTMLDetailsElement} newGroup
 * @property {HTMLFormElement} newGroupForm
 * @property {HTMLInputElement} groupName
 * @property {HTMLInputElement} groupPeople
 * @property {HTMLButtonElement} createGroup
 * @property {HTMLButtonElement} membersButton
 * @property {HTMLElement} panel
 * @property {HTMLUListElement} members
 * @property {HTMLFormElement} addForm
 * @property {HTMLInputElement} addPeople
 * @property {HTMLFormElement} renameForm
 * @property {HTMLInputElement} rename
 * @property {HTMLButtonElement} leave
 */

/**
 * @typedef {object} GroupPanelEvents
 * @property {() => string} me
 * @property {(userId: string) => string} nameOf
 * @property {(group: Group) => void} changed The server's answer: the group as it is now.
 * @property {(group: Group) => void} created The reader made it: open it.
 * @property {(groupId: string) => void} left The reader left it.
 * @property {(what: string, err: unknown) => void} error
 * @property {(what: string) => void} ok The error of `what` is gone.
 */

export class GroupPanel {
  /**
   * @param {GroupPanelElements} el
   * @param {Connection} connection
   * @param {GroupPanelEvents} events
   */
  constructor(el, connection, events) {
    this.el = el;
    this.connection = connection;
    this.events = events;
    /** The open group. @type {Group | null} */
    this.group = null;

    el.newGroupForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.create();
    });
    el.membersButton.addEventListener("click", () => this.setOpen(el.panel.hidden === true));
    el.addForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.add();
    });
    el.renameForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.rename();
    });
    el.leave.addEventListener("click", () => void this.leave());
    el.members.addEventListener("click", (e) => {
      const button = e.target instanceof Element ? e.target.closest("button.remove-member") : null;
      if (button instanceof HTMLElement && button.dataset.user) {
        void this.remove(button.dataset.user);
      }
    });
  }

  /** @param {boolean} connected */
  setEnabled(connected) {
    const { groupName, groupPeople, createGroup, addPeople, rename, leave, panel } = this.el;
    for (const input of [groupName, groupPeople, createGroup, addPeople, rename, leave]) {
      input.disabled = !connected;
    }
    for (const b of panel.querySelectorAll("button")) b.disabled = !connected;
  }

  /**
   * The group now open (null: a 1:1 chat or none); the panel folds when another opens.
   * @param {Group | null} group
   */
  show(group) {
    if (group?._id !== this.group?._id) this.setOpen(false);
    this.group = group;
    this.el.membersButton.hidden = !group;
    if (group) this.render();
  }

  /** @param {boolean} open */
  setOpen(open) {
    this.el.panel.hidden = !open || !this.group;
    this.el.membersButton.setAttribute("aria-expanded", String(!this.el.panel.hidden));
    if (!this.el.panel.hidden) this.render();
  }

  render() {
    const group = this.group;
    if (!group) return;
    const me = this.events.me();
    const owner = group.ownerId === me;
    this.el.members.replaceChildren(...group.memberIds.map((id) => {
      const li = h("li", "group-member");
      li.dataset.user = id;
      const name = this.events.nameOf(id);
      li.append(h("span", "name", id === me ? `${name} (you)` : name));
      if (name !== id) li.append(h("span", "handle", id));
      if (id === group.ownerId) li.append(h("span", "owner-tag", "owner"));
      if (owner && id !== me) {
        const remove = h("button", "remove-member secondary small", "Remove");
        remove.type = "button";
        remove.dataset.user = id;
        remove.setAttribute("aria-label", `Remove ${name}`);
        remove.disabled = !this.connection.connected;
        li.append(remove);
      }
      return li;
    }));
    // Adding people is the owner's; the server would refuse anyone else (FORBIDDEN).
    this.el.addForm.hidden = !owner;
    if (document.activeElement !== this.el.rename) this.el.rename.value = group.name;
    this.el.panel.querySelector("h3")?.replaceChildren(
      `Members (${group.memberIds.length})`,
    );
  }

  async create() {
    const name = this.el.groupName.value.trim();
    const memberIds = parseUserIds(this.el.groupPeople.value, this.events.me());
    if (!name) return this.events.error("New group", { error: "give the group a name" });
    if (memberIds.length === 0) {
      return this.events.error("New group", { error: "add at least one person (user ids)" });
    }
    const res = await this.connection.request(
      "createGroup",
      { name, memberIds },
      ACTION_TIMEOUT_MS,
    );
    if (!res.ok) return this.events.error("New group", res);
    this.events.ok("New group");
    this.el.groupName.value = "";
    this.el.groupPeople.value = "";
    this.el.newGroup.open = false;
    this.events.changed(res.group);
    this.events.created(res.group);
  }

  async add() {
    const group = this.group;
    if (!group) return;
    const userIds = parseUserIds(this.el.addPeople.value, this.events.me())
      .filter((id) => !group.memberIds.includes(id));
    if (userIds.length === 0) {
      return this.events.error("Adding people", { error: "enter user ids not in the group yet" });
    }
    const res = await this.connection.request(
      "addGroupMembers",
      { groupId: group._id, userIds },
      ACTION_TIMEOUT_MS,
    );
    if (!res.ok) return this.events.error("Adding people", res);
    this.events.ok("Adding people");
    this.el.addPeople.value = "";
    this.events.changed(res.group);
  }

  /** @param {string} userId */
  async remove(userId) {
    const group = this.group;
    if (!group) return;
    const res = await this.connection.request(
      "removeGroupMember",
      { groupId: group._id, userId },
      ACTION_TIMEOUT_MS,
    );
    if (!res.ok) return this.events.error("Removing a member", res);
    this.events.ok("Removing a member");
    this.events.changed(res.group);
  }

  async rename() {
    const group = this.group;
    const name = this.el.rename.value.trim();
    if (!group || !name || name === group.name) return;
    const res = await this.connection.request(
      "renameGroup",
      { groupId: group._id, name },
      ACTION_TIMEOUT_MS,
    );
    if (!res.ok) return this.events.error("Renaming", res);
    this.events.ok("Renaming");
    this.el.rename.blur();
    this.events.changed(res.group);
  }

  async leave() {
    const group = this.group;
    if (!group) return;
    const res = await this.connection.request(
      "leaveGroup",
      { groupId: group._id },
      ACTION_TIMEOUT_MS,
    );
    if (!res.ok) return this.events.error("Leaving", res);
    this.events.ok("Leaving");
    this.events.left(group._id);
  }
}
