"""New lead: a short form (name, phone, e-mail, status and a button; the rest folded away), checked
before anything is sent, a warning when the lead is already in the CRM, and an outbox that keeps every
lead the CRM did not accept until it is retried or discarded.

One lead per submission, however the clicks and runs interleave: Streamlit may start a second click's run
in a new thread while the first is still waiting for the CRM, so the guard is in the store, not in session
state. Each submission has a key (this browser session, the form's generation, the entry); lib.new_lead
writes the entry to the outbox as "sending" under that unique key before sending, and a run that finds the
key taken waits for that send's outcome instead of sending. The form's widgets are keyed by the generation,
which moves on only after a success; an entry already waiting in the outbox is never sent from the form
again, and an outbox Retry is likewise claimed in the store by one run only.
"""

import uuid
from zoneinfo import ZoneInfo

import streamlit as st

from lib import contacts, new_lead, ui
from lib.schema import UTM_FIELDS
from lib.store import EXT_FIELDS
from lib.text import escape_markdown
from lib.ui import auth as gate

p = ui.page()
s = p.settings
store = ui.store(s)
src = ui.source(s)
tz = ZoneInfo(s.timezone)
state = st.session_state
state.setdefault("nl_gen", 0)  # the form's generation: part of its submission key
state.setdefault("nl_session", uuid.uuid4().hex)  # this browser session, the other part
gen = state["nl_gen"]
session_id = state["nl_session"]
errors: dict[str, str] = state.get("nl_errors", {})

st.title("New lead")


def field_error(name: str) -> None:
    if name in errors:
        st.error(errors[name], icon="⚠️")


def submit(lead: dict) -> None:
    """Send once per submission key and remember the outcome (a second click's run waits for the first
    run's outcome instead of sending), with no Streamlit call between the send and the bookkeeping."""
    key_ = new_lead.submission_key(session_id, gen, lead)
    with st.spinner("Sending the lead to the CRM…"):
        result = new_lead.send(
            src, store, lead, submission=key_, replaces=state.get("nl_outbox_id"), now=p.now
        )
        state["nl_result"] = result
        if result.state in ("sending", "gone"):
            pass  # another run holds this send; its outcome shows in the outbox
        elif result.ok:
            gate.audit(s, "lead created", {"lead_id": result.lead_id, "state": result.state})
            state["nl_gen"] = gen + 1  # a fresh, empty form; the old submit can no longer fire
            state.pop("nl_outbox_id", None)
            state.pop("nl_errors", None)
            ui.refresh(s)
        else:
            state["nl_outbox_id"] = result.outbox_id
            state["nl_errors"] = {
                f: "The CRM refused this field" for f in new_lead.form_fields(result.fields)
            }
    st.rerun()


if not getattr(src, "can_create", True):
    st.info(
        f"**{src.label} does not let the dashboard create leads.** Enter new leads in the CRM itself; "
        "they will show up here after the next refresh.",
        icon="ℹ️",
    )
else:
    active = new_lead.active_statuses(p.statuses)
    status_names = dict(zip(active["status_id"], active["status"], strict=True))
    status_ids = list(status_names)
    default = new_lead.default_status(p.statuses)
    labels = store.ext_labels()
    owners = new_lead.owner_choices(p.data.leads)
    key = f"nl{gen}_"

    result = state.get("nl_result")
    if result is not None and result.ok:
        st.success(
            f"**Lead created — id {result.lead_id}.** The form below is ready for the next one.", icon="✅"
        )
    elif result is not None and result.state in ("sending", "gone"):
        st.info(escape_markdown(result.message), icon="⏳")
    elif result is not None:  # the CRM's words, shown as text
        st.error(f"**The lead was not created.** {escape_markdown(result.message)}", icon="🚫")
        st.caption("Everything you typed is still in the form. The lead is also kept in the outbox below.")

    with st.form(f"new_lead_{gen}", enter_to_submit=False):
        left, right = st.columns(2)
        with left:
            name = st.text_input("Full name *", key=key + "name", placeholder="ישראל ישראלי")
            field_error("name")
            phone = st.text_input(
                "Phone *",
                key=key + "phone",
                placeholder="050-234-5678",
                help=f"A number in {s.phone_region} (050-234-5678, +972 50 234 5678, 972502345678) "
                "or with its +country code; it is sent as +972…",
            )
            field_error("phone")
            # a number of a possible length in a range the phone library does not know: sent once confirmed
            # (the box stays while ticked, so an error in another field does not ask again)
            phone_ok = False
            if "phone_confirmed" in errors:
                st.warning(errors["phone_confirmed"], icon="☎️")
            if "phone_confirmed" in errors or state.get(key + "phone_confirmed"):
                phone_ok = st.checkbox("Save anyway: the number is right", key=key + "phone_confirmed")
        with right:
            email = st.text_input("E-mail", key=key + "email", placeholder="name@example.com")
            field_error("email")
            status_id = st.selectbox(
                "Status",
                status_ids,
                index=status_ids.index(default) if default in status_ids else None,
                format_func=lambda sid: status_names.get(sid, sid),
                key=key + "status_id",
                placeholder="The CRM's default",
            )
            field_error("status_id")

        with st.expander("More details: first and last name, company, owner, note"):
            first, last = st.columns(2)
            first_name = first.text_input("First name", key=key + "first_name")
            last_name = last.text_input("Last name", key=key + "last_name")
            company = st.text_input("Company", key=key + "company")
            owner = st.selectbox(
                "Owner",
                owners,
                index=None,
                accept_new_options=True,
                key=key + "owner",
                placeholder="Choose or type a CRM user id",
            )
            text = st.text_area("Note", key=key + "text", height=80)
            is_subscriber = st.checkbox("Subscribed to the mailing list", key=key + "is_subscriber")
            for f in ("first_name", "last_name", "company", "owner", "text"):
                field_error(f)
        with st.expander("Marketing: UTM source, medium, campaign, term, content"):
            utm = {f: st.text_input(f, key=key + f) for f in UTM_FIELDS}
            for f in UTM_FIELDS:
                field_error(f)
        with st.expander("Custom fields: " + ", ".join(labels[f] for f in EXT_FIELDS)):
            ext = {f: st.text_input(labels[f], key=key + f) for f in EXT_FIELDS}
            for f in EXT_FIELDS:
                field_error(f)

        st.caption("\\* required. A full name alone is also sent as the first name.")
        submitted = st.form_submit_button("Create lead", type="primary", icon="➕")

    if submitted:
        form = {
            "name": name,
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone,
            # the confirmation holds only for the number it was given for
            "phone_confirmed": phone_ok and state.get("nl_phone_warned") == phone,
            "email": email,
            "company": company,
            "owner": owner,
            "text": text,
            "is_subscriber": is_subscriber,
            "status_id": status_id,
            **utm,
            **ext,
        }
        lead, found_errors = new_lead.validate(form, s.phone_region, status_ids)
        state["nl_errors"] = found_errors
        if "phone_confirmed" in found_errors:
            state["nl_phone_warned"] = phone
        state.pop("nl_result", None)
        state.pop("nl_pending", None)
        if found_errors:
            st.rerun()
        sent = store.outbox_get(submission=new_lead.submission_key(session_id, gen, lead))
        if sent is not None and sent.state in ("sending", "sent"):
            submit(lead)  # a second click on this very submission: shows its outcome, sends nothing
        held = new_lead.in_outbox(store, lead)
        duplicates = new_lead.find_duplicates(p.data.leads, lead["phone"], lead["email"])
        if held is not None:
            state["nl_held"] = held.id
            st.rerun()
        elif len(duplicates):
            state["nl_pending"] = {"gen": gen, "lead": lead}
            st.rerun()
        else:
            submit(lead)

    if (held_id := state.pop("nl_held", None)) is not None:
        st.warning(
            f"This exact lead is already in the outbox (item {held_id}): use **Retry** there, which checks "
            "the CRM first, so that it is not created twice.",
            icon="📤",
        )

    pending = state.get("nl_pending")
    if pending is not None and pending["gen"] == gen:
        lead = pending["lead"]
        duplicates = new_lead.find_duplicates(p.data.leads, lead["phone"], lead["email"])
        with st.container(border=True):
            st.warning(
                f"**Possible duplicate:** {len(duplicates)} lead(s) in the CRM have this phone or e-mail. "
                "Create the new lead anyway?",
                icon="👥",
            )
            shown = duplicates.assign(
                created_at=duplicates["created_at"].dt.tz_convert(tz),
                phone=contacts.display_phones(duplicates["phone"], s.phone_region),
            )
            st.dataframe(
                shown[["name", "status", "created_at", "phone", "email", "matched_on", "lead_id"]],
                hide_index=True,
                column_config={
                    "name": "Name",
                    "status": "Status",
                    "created_at": st.column_config.DatetimeColumn(
                        f"Created ({s.timezone})", format="YYYY-MM-DD HH:mm"
                    ),
                    "phone": "Phone",
                    "email": "E-mail",
                    "matched_on": "Same",
                    "lead_id": "Lead id",
                },
            )
            create_col, cancel_col, _ = st.columns([2, 1, 4])
            confirmed = create_col.button("Create anyway", type="primary", key=f"nl_confirm_{gen}")
            # the pending lead is consumed before sending: one send per click
            if confirmed and state.pop("nl_pending", None) is not None:
                submit(lead)
            if cancel_col.button("Cancel", key=f"nl_cancel_{gen}"):
                state.pop("nl_pending", None)
                st.rerun()

# -- the outbox -------------------------------------------------------------------------------------

st.subheader("Outbox")
items = store.outbox_list()
if note := state.pop("nl_outbox_note", None):
    if note.ok:
        st.success(note.message, icon="✅")
    elif note.state in ("sending", "gone"):
        st.info(escape_markdown(note.message), icon="⏳")
    else:
        st.error(escape_markdown(note.message), icon="🚫")
if not items:
    st.caption("Empty: every lead entered here was accepted by the CRM.")
else:
    st.caption(
        f"{len(items)} lead(s) the CRM has not accepted, oldest first. **Unknown** means no answer came "
        "after sending (or the dashboard stopped while sending): Retry first looks for the lead in the CRM "
        "and sends it only if it is not there. **Sending** means a send is going on right now."
    )
for item in items:
    lead = item.lead
    with st.container(border=True):
        info, retry_col, discard_col = st.columns([6, 1, 1], vertical_alignment="center")
        badge = {"unknown": "🟠 unknown", "sending": "⏳ sending"}.get(item.state, "🔴 failed")
        # each value isolated (U+2068..U+2069) so a Hebrew name does not reorder the phone next to it
        phone_ = lead.get("phone") and contacts.display_phone(str(lead["phone"]), s.phone_region)
        values = (lead.get("name") or "(no name)", phone_, lead.get("email"))
        name_, *contact = [f"\u2068{escape_markdown(v)}\u2069" for v in values if v]
        info.markdown(
            f"{badge}: **{name_}** · {' · '.join(contact)}  \n"
            f"kept {ui.local_time(item.created_at, s.timezone)} · {item.attempts} attempt(s)"
        )
        info.caption(escape_markdown(item.error or "Being sent to the CRM now."))
        # One send per item however often Retry is clicked: new_lead.retry claims the item in the store, and
        # a second click's run waits for the first one's outcome. The key moves on with each failed attempt.
        if retry_col.button("Retry", key=f"nl_retry_{item.id}_{item.attempts}", disabled=not src.can_create):
            with st.spinner("Checking and sending…"):
                note = new_lead.retry(src, store, item, now=p.now)
                gate.audit(s, "outbox retry", {"outbox_id": item.id, "outcome": note.state})
                state["nl_outbox_note"] = note
                if note.ok:
                    ui.refresh(s)
            st.rerun()
        # Discard asks first: the lead would be lost for good (the confirmation holds for this item only)
        if item.state != "sending" and discard_col.button("Discard", key=f"nl_discard_{item.id}"):
            state["nl_discard_asked"] = item.id
            st.rerun()
        if item.state != "sending" and state.get("nl_discard_asked") == item.id:
            info.warning("Discard this lead? It is not in the CRM and cannot be brought back.", icon="🗑️")
            yes_col, no_col, _ = info.columns([2, 1, 3])
            if yes_col.button("Really discard", type="primary", key=f"nl_discard_yes_{item.id}"):
                state.pop("nl_discard_asked", None)
                store.outbox_remove(item.id)
                gate.audit(s, "outbox discard", {"outbox_id": item.id})
                if state.get("nl_outbox_id") == item.id:
                    state.pop("nl_outbox_id")
                st.rerun()
            if no_col.button("Keep it", key=f"nl_discard_no_{item.id}"):
                state.pop("nl_discard_asked", None)
                st.rerun()
