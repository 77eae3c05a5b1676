"""Small REFI-QDA projects shared by the QDA import and coded-segment tests."""

# A REFI-QDA project whose codes form a hierarchy: Onboarding > SSO (path onboarding:sso).
SSO_QDE = (
    '<Project xmlns="urn:QDA-XML:project:1.0" name="p"><CodeBook><Codes>'
    '<Code guid="11111111-1111-1111-1111-111111111111" name="Onboarding" isCodable="true">'
    '<Code guid="66666666-6666-6666-6666-666666666666" name="SSO" isCodable="true"/>'
    "</Code></Codes></CodeBook><Sources>"
    '<TextSource guid="22222222-2222-2222-2222-222222222222" name="s1">'
    "<PlainTextContent>Nobody owns the SSO setup.</PlainTextContent>"
    '<PlainTextSelection guid="44444444-4444-4444-4444-444444444444" startPosition="0" '
    'endPosition="26"><Coding guid="55555555-5555-5555-5555-555555555555">'
    '<CodeRef targetGUID="66666666-6666-6666-6666-666666666666"/></Coding>'
    "</PlainTextSelection></TextSource></Sources></Project>"
)
