"""A tiny corpus of three customer topics and some small talk, for the theme tests."""

SSO = [
    f"{who} cannot log in with {idp} single sign-on since the {when} change."
    for who in ("Our admin", "Half the team", "The new hire")
    for idp in ("Okta", "Azure AD", "Google SSO", "SAML", "OneLogin")
    for when in ("Monday",)
]
BILLING = [
    f"The {doc} for {month} charged our card {what}."
    for doc in ("invoice", "billing statement", "renewal invoice")
    for month in ("March", "April", "May", "June", "July")
    for what in ("twice for the same seats",)
]
DASHBOARD = [
    f"The {board} dashboard takes {secs} to load the {chart} charts."
    for board in ("sales", "executive", "finance")
    for secs in ("a minute", "forever", "ages", "two minutes", "too long")
    for chart in ("revenue",)
]
SMALL_TALK = ["Um.", "Oh, yeah.", "Great.", "Hi, good afternoon!", "Thanks, bye now.", "Sure."] * 2
