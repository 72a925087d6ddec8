"""Domain errors. Each carries a complete one-line message naming the parts and the rule."""

from casman.errors import CasmanError


class DomainError(CasmanError):
    """Input that breaks a domain rule."""


class InvalidPartNumberError(DomainError):
    pass


class InvalidPolarizationError(DomainError):
    pass


class InvalidGridCodeError(DomainError):
    pass


class InvalidSnapPortError(DomainError):
    pass


class ConnectionRuleError(DomainError):
    """A connection or disconnection that the chain rules forbid."""


class InvalidBoardError(DomainError):
    pass
