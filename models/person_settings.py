"""What the chat keeps about a person for next time: the language they chose, and the
municipality and address of their last request (offered again on the next one)."""

from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Person


def set_language(session: AsyncSession, person: Person, language: str) -> None:
    person.language = language
    session.add(person)


def remember_place(session: AsyncSession, person: Person, municipality_id: int,
                   address: str) -> None:
    person.last_municipality_id, person.last_address = municipality_id, address
    session.add(person)
