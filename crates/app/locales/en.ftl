# Resident-facing text in English (US). Every message here has a twin in
# es.ftl with the same variables; a test fails when they drift apart.
# Messages that start lower-case are parts of sentences (field errors that
# are also quoted inside other messages); pages capitalise them.

## Layout

skip-link = Skip to main content
service-name = Pay online
footer-card-note = Card payments are taken by the city's payment processor on its own secure page. The city never sees or stores your card number.
language-nav = Language
title-with-error = Error: { $title }
error-prefix = Error:
error-summary-title = There is a problem
continue = Continue

## Dates: "November 28, 2026"

date-long = { $month } { $day }, { $year }
date-range = { $start } to { $end }
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

## Start page

home-title = Pay the city online
home-lead = Pay a bill with a debit or credit card. You do not need an account.
home-pay-department = Pay a { $department } bill
home-before-title = Before you start
home-before-bill = Have your bill to hand: you will need the number printed on it and the ZIP code of the service address.
home-before-card = You will enter your card details on our payment processor's secure page, not on this site.

## Finding the bill

lookup-title = Pay a { $department } bill
lookup-intro = Enter the details printed on your bill.
lookup-default-label = Account number
lookup-default-hint = Printed at the top of your bill, for example 1002-3345.
lookup-zip-label = ZIP code of the service address
lookup-zip-hint = The 5-digit ZIP code of the address we provide service to, as printed on the bill.
lookup-pin-label = Notice code
lookup-pin-hint = The code of 4 to 12 letters and digits printed on your notice.
lookup-name-label = Name on the notice
lookup-name-hint = The name of the holder or the business, as printed on the notice.
lookup-plate-label = Licence plate
lookup-plate-hint = The plate of the vehicle named on the citation, letters and digits only.
lookup-state-label = State of the plate
lookup-state-choose = Choose a state
lookup-submit = Find my bill
lookup-no-match = We could not find a bill with that account number and ZIP code. Check both against your bill.
lookup-no-match-other = We could not find a notice with that number and those details. Check them against your notice.

## The account's bills

bills-title = Your { $department } bills
bills-account = Account
bills-service-address = Service address
bills-nothing-due = Nothing is due on this account.
bills-thanks = Thank you.
bills-bill-heading = Bill { $reference }
bills-period = Billing period
bills-due-date = Due date
bills-amount-billed = Amount billed
bills-paid-so-far = Paid so far
bills-amount-due = Amount due
bills-in-progress =
    A payment of { $amount } on this bill is in progress. It will be confirmed or cancelled within { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }.
bills-how-much = How much do you want to pay?
bills-full-amount = The full amount due, { $amount }
bills-other-amount = Another amount
bills-amount-label = Amount in dollars
bills-amount-hint = For example, 45.10. The smallest payment is { $minimum }.
bills-other-account = Look up a different account

## Checking the payment

review-title = Check your payment
review-paying = Paying
review-paying-value = { $department } bill { $reference }
review-period = Billing period
review-payment = Payment
review-fee = Card convenience fee
review-total = Total to be charged
review-change-amount = Change the amount
review-next-title = What happens next
review-next-processor = You will go to our payment processor's secure page to enter your card details. The city never sees your card number.
review-next-receipt = When you have paid, you will come back here and see your receipt.
review-next-balance = Your bill's balance goes down by { $amount } once the processor confirms the payment.
review-email-label = E-mail address for your receipt (optional)
review-email-hint = We only use it to send this receipt.
review-submit = Continue to secure payment
review-out-of-date = This page was out of date. Check the payment below and continue again.
review-bill-changed = This bill has changed since you chose the amount: { $reason }. Go back and choose the amount again.

## How the card fee is worked out

fee-percent = { $percent }% of the payment
fee-flat = { $amount } per payment
fee-plus = { $first } plus { $second }
fee-some = A fee
fee-at-least = { $rule }, at least { $amount }
fee-at-most = { $rule }, at most { $amount }
fee-explained = { $rule }. The fee covers the cost of card processing.

## The receipt page

receipt-paid-title = Payment received
receipt-number = Your receipt number is { $number }
receipt-line = { $department } bill { $reference }
receipt-fee = Convenience fee
receipt-total = Total charged
receipt-paid-with = Paid with
receipt-date = Date
receipt-emailed = We have e-mailed a copy of this receipt to { $address }.
receipt-keep = Keep your receipt number. You can print this page for your records.
receipt-pay-another = Pay another bill
receipt-failed-title = Your payment was not taken
receipt-not-charged = You have not been charged.
receipt-try-again = Try again
receipt-expired-title = Your payment was not completed
receipt-expired-text = The time to pay on the processor's page ran out.
receipt-start-again = Start again
receipt-waiting-title = We are confirming your payment
receipt-waiting-text = The payment processor has not told us the result yet. This usually takes a few seconds.
receipt-waiting-do-not-pay = Do not pay again.
receipt-check-again = Check the result again
receipt-waiting-email = If you gave an e-mail address, we will send your receipt there as soon as the payment is confirmed.
card-ending = { $brand } ending { $last4 }
card-brand-other = Card
card-unknown = card

## Why a card payment failed

decline-declined = Your card was declined. Try another card, or contact your card issuer.
decline-insufficient-funds = Your card was declined because there are not enough funds. Try another card.
decline-expired-card = Your card has expired. Try another card.
decline-incorrect-cvc = The security code did not match. Check the 3 or 4 digits on your card and try again.
decline-processing-error = The payment processor had a problem. Try again in a few minutes.
decline-cancelled = You cancelled the payment on the payment page.
decline-unknown = The payment could not be taken.

## The receipt e-mail

mail-subject = Your payment receipt { $number }
mail-title = Payment receipt { $number }
mail-heading = { $city }: payment receipt
mail-receipt-number = Receipt number { $number }, paid on { $date }.
mail-receipt-number-label = Receipt number
mail-paid-on-label = Paid on
mail-line = { $department }, bill { $reference }
mail-payment = Payment
mail-view-online = View this receipt online
mail-view-label = View this receipt
mail-keep = Keep this e-mail for your records. The city will never ask you for your card number by e-mail or phone.

## Error pages

error-reference = If you contact us about this, quote reference { $reference }.
error-start-page = Go to the start page
error-not-found-title = Page not found
error-not-found-text = If you typed the web address, check it is correct. If you followed a link, the page may have moved.
error-method-text = This page cannot be used that way.
error-too-large-title = What you sent is too large
error-too-large-text = Go back and try again with less text.
error-bad-request-title = Sorry, we could not understand that request
error-bad-request-text = Go back, reload the page and try again.
error-forbidden-title = Your session has expired or the form was not sent from this site
error-forbidden-text = Go back, reload the page and try again. Nothing was changed.
error-unavailable-title = Sorry, the service is unavailable
error-unavailable-text = Try again in a few minutes. You have not been charged.
error-internal-title = Sorry, there is a problem with the service
error-internal-text = Try again later. If you were paying, you have not been charged twice: check your e-mail for a receipt before trying again.
error-too-many-title = Too many attempts
error-too-many-text = You have tried this too many times in a short time. Wait a minute and try again.

## What is wrong with a field (lower-case: also quoted inside sentences)

amount-empty = enter an amount
amount-not-a-number = enter an amount in dollars and cents, like 45.10
amount-too-many-decimals = an amount cannot have more than two decimal places
amount-negative = the amount cannot be negative
amount-too-large = the amount is too large
amount-nothing-due = there is nothing to pay on this bill
amount-zero = enter an amount greater than zero
amount-below-minimum = the smallest payment accepted is { $amount }
amount-partial-not-allowed = this bill must be paid in full ({ $amount })
amount-above-balance = you can pay at most { $amount }, the amount due
account-number-empty = enter your account number
account-number-bad-character = an account number has letters and digits only
account-number-too-long = an account number has at most 32 characters
zip-empty = enter the ZIP code of the service address
zip-malformed = enter a 5-digit ZIP code, like 94110
account-number-format = enter the number as printed on your notice, like { $example }
pin-empty = enter the code printed on your notice
pin-malformed = the code has 4 to 12 letters and digits
name-empty = enter the name as printed on your notice
name-malformed = enter a name of up to 100 letters
plate-empty = enter the licence plate
plate-malformed = a licence plate has 1 to 8 letters and digits
state-malformed = choose the state the plate is from
email-empty = enter an e-mail address
email-malformed = enter an e-mail address like name@example.com

## Breach notices (cityteller breach notices): titles and headings as
## California requires them.
notice-title = Notice of Data Breach
notice-subject = Notice of Data Breach from { $city }
notice-date = Date of this notice: { $date }
notice-reference = Reference: { $reference }
notice-dear = Dear { $name },
notice-dear-resident = Dear resident,
notice-intro = We are writing to tell you about an incident that involved some of your information held by the online payment service of { $city }.
notice-what-happened = What Happened
notice-what-information = What Information Was Involved
notice-what-we-are-doing = What We Are Doing
notice-what-you-can-do = What You Can Do
notice-more-information = For More Information
notice-when-range = The breach happened between { $from } and { $to }.
notice-when-day = The breach happened on { $date }.
notice-discovered = We discovered it on { $date }.
notice-delayed = This notice was delayed because a law enforcement agency told us that notifying you sooner would impede its investigation.
notice-not-delayed = This notice was not delayed by a law enforcement investigation.
notice-your-information = The information about you that was involved:
notice-category-name = your name
notice-category-address = your postal (service) address
notice-category-email = your e-mail address
notice-category-account = your account or notice number, and the detail you used to look it up (such as a ZIP code or licence plate)
notice-no-cards = Your card number was not involved: cards are typed on the payment processor's own page, and the city's payment service never receives or stores them.
notice-advice-email = Be wary of e-mails, texts or calls that ask you to pay or to confirm personal details. We never ask for card numbers by e-mail, text or telephone.
notice-advice-account = Check your city bills and your bank or card statements, and tell us at once about any payment you do not recognise.
notice-advice-post = Be wary of letters that ask you to pay in an unusual way; check them against the contact details below before you pay.
notice-advice-password = Choose a new password for your online payments account ("I forgot my password" on the sign-in page), and for any other account where you used the same password. Turning on two-step verification in your account makes a stolen password useless on its own.
notice-advice-cards = If you think your card or bank account has been misused, call the number on the back of your card or your bank straight away.
notice-contact-intro = If you have questions, contact { $organisation }:
notice-contact-phone = Telephone: { $phone }
notice-contact-email = E-mail: { $email }
notice-contact-post = Post: { $address }
notice-contact-web = Web: { $url }
notice-quote-reference = Please quote the reference { $reference }.
notice-page = Page { $page } of { $pages }

## The cart: bills from several departments paid together.
cart-title = Your cart
cart-empty = Your cart is empty.
cart-find-bill = Find a bill to pay
cart-lead = These bills will be paid together: one card payment and one receipt.
cart-paying = You are paying
cart-remove = Remove { $department } bill { $reference }
cart-total = Total of the bills
cart-fees-next = Any card convenience fee is shown, department by department, on the next page.
cart-checkout = Check out
cart-add-another = Add a bill from another department
cart-add = Add to cart
cart-link = Your cart: { $count ->
        [one] { $count } bill
       *[other] { $count } bills
    }
cart-changed-amount = The amount due on { $department } bill { $reference } changed from { $was } to { $now }. Check what you are paying and check out again.
cart-changed-paid = { $department } bill { $reference } has been paid since you added it. We took it out of your cart.
cart-change = Change your cart
checkout-several-bills = { $count ->
        [one] { $count } bill
       *[other] { $count } bills
    }
review-bills = Bills
review-fee-for = Card convenience fee ({ $department })
review-changed = This bill has changed since you chose it: the amount due is now { $now }. Go back and choose the amount again.
review-next-balances = Each bill's balance goes down by what you pay on it once the processor confirms the payment.
bills-description = For
bills-pay-all-title = Pay everything on this account
bills-pay-all-text = Every open bill on this account, each in full: { $amount } in all.
bills-pay-all = Pay all
bills-add-all = Add all to cart
bills-pay-together = this fee can only be paid together with the account's other open bills: choose Pay all
bills-pay-together-note = This fee is paid together with the account's other open bills: use Pay all above.
bills-nothing-to-pay-now = there is nothing left to pay on this account now
review-not-separately = Bill { $reference } can only be paid together with the account's other open bills. Go back and choose Pay all.

## Business licence renewal and certificates.
renew-title = Renew a business licence
renew-lead = Find your licence with its number and the business name as it is printed on the licence.
renew-find = Find my licence
renew-licence-title = Renew licence { $number }
renew-business = Business
renew-category = Category
renew-expires = Expires
renew-not-yet-title = This licence cannot be renewed yet
renew-not-yet = Licence { $number } expires on { $expires }. Renewal opens on { $opens }, { $days } days before it expires. Come back then.
renew-late = This licence expired on { $expires }. A late penalty is added for each month, or part of a month, since then.
renew-declare-title = Tell us about the business
renew-gross-label = Gross receipts for the past year, in dollars
renew-gross-hint = All money the business took in, before expenses. For example, 250000.
renew-employees-label = Number of employees
renew-employees-hint = Count everyone on the payroll, full-time and part-time, including you.
renew-quote = Work out my fee
renew-fee-title = Your renewal fee
renew-continue = Continue to payment
renew-line-licence = Licence fee ({ $category })
renew-line-penalty = Late penalty ({ $months ->
        [one] { $months } month
       *[other] { $months } months
    })
renew-total = Total
renew-new-expiry = Once paid, the licence runs until { $date }, and you can download its certificate from your receipt.
renew-gross-empty = enter the gross receipts, in dollars
renew-gross-bad = enter the gross receipts as a number of dollars, like 250000
renew-gross-too-high = gross receipts above { $amount } cannot be declared online; contact the licensing office
renew-employees-empty = enter the number of employees
renew-employees-bad = enter the number of employees as a whole number, like 4
renew-employees-too-many = more than { $count } employees cannot be declared online; contact the licensing office
renew-in-progress = A payment for this renewal is already in progress. Wait a few minutes and look again.
renew-not-licence = This account is not a business licence.
certificate-title = Business licence certificate
certificate-number = Licence number: { $number }
certificate-category = Category: { $category }
certificate-valid-until = Valid until: { $date }
certificate-code = Verification code: { $code }
certificate-check = Anyone can check this certificate at { $url } with the licence number and the code.
certificate-display = Display this certificate where customers can see it.
certificate-download = Download your licence certificate (PDF)
verify-title = Check a business licence certificate
verify-lead = Type the licence number and the verification code printed on the certificate.
verify-number = Licence number
verify-code = Verification code
verify-submit = Check the certificate
verify-current = Genuine and current: { $business } ({ $category }) holds licence { $number }, valid until { $date }.
verify-not-current = This certificate was genuine, but for a term that ended on { $date }. The business may have renewed since: ask for the current certificate.
verify-not-genuine = No certificate with this licence number and code was issued by the city. It may have been mistyped, or it is not genuine.
bills-licence-expires = This business licence expires on { $date }.
bills-renew = Renew this licence
renew-contact-title = Your contact details
renew-contact-on-file = The licensing office has these details for the business.
renew-contact-correct = They are correct
renew-contact-changed = Something has changed
renew-changes-label = What has changed
renew-changes-hint = For example a new telephone number, e-mail address, mailing address or owner. The licensing office will update its records.
renew-contact-missing = say whether the contact details on file are correct
renew-changes-empty = say what has changed
renew-changes-too-long = describe the changes in at most { $count } characters
notice-category-contact-changes = the changes to your contact details you sent us when renewing a business licence
notice-category-account-login = the e-mail address and password of your online payments account (we keep the password only in a scrambled form that cannot be turned back into it, but if it was typed on our site while it was compromised it may have been seen)
notice-category-saved-card = the brand and last four digits of a card you saved for automatic payments (never the full card number, which only our payment processor holds)
renew-address = Business address

## Resident accounts: sign-up, sign-in, links sent by e-mail, linked
## accounts, e-bills.

home-account-link = Sign in to your account
home-account-create = Create an account to see your bills in one place and get them by e-mail
account-home-title = Your account
account-signed-in-as = Signed in as { $email }
account-sign-out = Sign out
account-guest-note = You do not need an account to pay a bill: you can pay as a guest with the number on your bill.
account-signup-title = Create an account
account-signup-intro = With an account you can see the bills of every account you hold in one place, get them by e-mail and see what you have paid.
account-signup-submit = Create account
account-have-account = I already have an account
account-email-label = E-mail address
account-password-label = Password
account-password-hint = At least 12 characters. A few unrelated words make a good password.
account-confirm-password-label = Type the password again
account-check-email-title = Check your e-mail
account-check-spam = If it has not arrived in a few minutes, look in your spam or junk folder.
account-signup-sent = We have sent an e-mail to the address you gave. Follow the link in it within { $hours } hours to finish creating your account.
account-confirm-title = Confirm your e-mail address
account-confirm-intro = Confirm that this is your e-mail address to finish creating your account.
account-confirm-submit = Confirm my e-mail address
account-confirmed-title = Your e-mail address is confirmed
account-confirmed-body = You can now sign in to your account.
account-link-refused-title = This link cannot be used
account-link-unknown = The link is not valid. Check that you copied the whole link from the e-mail.
account-link-used = The link has already been used. Each link in our e-mails works once.
account-link-expired = The link has expired.
account-link-new-confirm = Sign in to get a new confirmation link
account-link-new-reset = Ask for a new link to reset your password
account-signin-title = Sign in
account-signin-submit = Sign in
account-signin-invalid = the e-mail address or password is not right
account-signin-throttled = too many attempts: try again in { $minutes } minutes
account-signin-unconfirmed = Your e-mail address has not been confirmed yet. We have sent you a new link: follow it, then sign in.
account-forgot-password = I forgot my password
account-create = Create an account
account-reset-title = Reset your password
account-reset-intro = Enter the e-mail address of your account. We will send you a link to choose a new password.
account-reset-submit = Send the link
account-reset-sent = If an account uses that address, we have sent it a link to choose a new password. The link works for { $minutes } minutes.
account-new-password-title = Choose a new password
account-new-password-intro = Choosing a new password signs you out everywhere else.
account-new-password-submit = Save the new password
account-linked-title = Your linked accounts
account-no-links = You have not linked any accounts yet.
account-nothing-due = Nothing is due on this account.
account-open-bills-caption = Bills due on account { $account }
account-bill-reference = Bill
account-bill-due = Due
account-bill-balance = Owed
account-pay-bills = Pay these bills
account-paperless-on = You get these bills by e-mail, with a reminder before they are due.
account-paperless-start = Get these bills by e-mail
account-paperless-stop = Stop e-mail bills
account-unlink = Remove this account
account-link-title = Link an account
account-link-intro = Choose the department that bills you:
account-link-heading = Link a { $department } account
account-link-proof = To show that the account is yours, enter what is on your latest bill.
account-last-bill-label = Amount of your latest bill
account-last-bill-hint = The total of the most recent bill, in dollars and cents, for example 84.12.
account-link-submit = Link account
account-link-no-match = we could not find an account with those details: check them against your latest bill
account-link-throttled-title = Too many attempts
account-link-throttled = The details did not match too many times. For your security, try again in an hour.
account-back = Back to your account
account-history-title = Payments
account-no-history = No payments on your linked accounts yet.
account-history-date = Date
account-history-bill = Bill
account-history-amount = Amount
account-history-receipt = Receipt
account-history-refunded = Refunded
account-history-partly-refunded = Partly refunded
account-history-disputed = Disputed
account-notice-linked = The account is linked.
account-notice-already = That account was already linked.
account-notice-unlinked = The account was removed from your account.
account-notice-paperless-on = You will get this account's bills by e-mail.
account-notice-paperless-off = You will no longer get this account's bills by e-mail.
account-notice-reset = Your new password is saved. You have been signed out everywhere else.
account-unsubscribe-title = Stop e-mail bills
account-unsubscribe-intro = Stop getting e-mails about this account's bills? You will get paper bills as before.
account-unsubscribe-submit = Stop the e-mails
account-unsubscribed-title = You will no longer get these e-mails
account-unsubscribed-body = We will not e-mail you about this account's bills. You can turn e-mail bills back on from your account.
password-too-short = use at least 12 characters; a few unrelated words make a good password
password-too-long = use at most 128 characters
password-common = this password is too common: it appears in lists of leaked passwords
password-contains-email = do not use your e-mail address in your password
password-repetitive = this password is too repetitive
password-mismatch = the two passwords do not match
account-mail-ignore = If you did not ask for this, you can ignore this e-mail.
account-mail-confirm-subject = Confirm your e-mail address for { $city } online payments
account-mail-confirm-heading = Welcome to { $city } online payments
account-mail-confirm-body = To finish creating your account, confirm your e-mail address. The link works for { $hours } hours.
account-mail-confirm-action = Confirm my e-mail address
account-mail-exists-subject = Your { $city } online payments account
account-mail-exists-heading = You already have an account
account-mail-exists-body = Someone, probably you, tried to create an account with this e-mail address. You already have one.
account-mail-exists-action = Sign in
account-mail-exists-reset = If you have forgotten your password, you can choose a new one: { $url }
account-mail-reset-subject = Reset your password for { $city } online payments
account-mail-reset-heading = Choose a new password
account-mail-reset-body = Follow the link to choose a new password. It works for { $minutes } minutes, once.
account-mail-reset-action = Choose a new password
account-mail-reset-ignore = If you did not ask for this, ignore this e-mail: your password stays the same.
account-mail-2fa-off-subject = Two-step verification was turned off on your { $city } account
account-mail-2fa-off-heading = Two-step verification is off
account-mail-2fa-off-body = A member of city staff turned off two-step verification on your account, as you asked when you could not use your authenticator app. You have been signed out everywhere. Sign in with your password, and turn two-step verification on again from your account page.
account-mail-2fa-off-not-you = If you did not ask for this, choose a new password now ({ $url }) and call the city.
account-mail-bill-subject = Your { $department } bill is ready
account-mail-bill-heading = Your { $department } bill is ready
account-mail-due-subject = Reminder: your { $department } bill is due { $date }
account-mail-due-heading = Your bill is due { $date }
account-mail-bill-account = Account: { $department } { $account }
account-mail-bill-amount = Amount: { $amount }, due { $date }.
account-mail-bill-action = Sign in to see and pay the bill
account-mail-bill-autopay-note = We will never ask for your card number or password by e-mail.
account-mail-unsubscribe = Stop these e-mails
account-mail-autopay-subject = Autopay will pay your { $department } bill
account-mail-autopay-body = We will charge { $amount } to your { $card } on { $date } for the bill due { $due }.
account-mail-autopay-change = To change or stop autopay before then, sign in to your account.
account-mail-declined-subject = Your { $department } payment did not go through
account-mail-declined-body = Your bank declined the charge to your { $card } for the bill due { $due }.
account-mail-declined-retry = We will try again on { $date }. You can also pay now with another card.
account-mail-declined-final = We will not try again. Please pay the bill yourself before it is due.
account-mail-not-made-subject = Your { $department } bill was not paid automatically
account-mail-not-made-over-max = The bill is more than the most you set for autopay, so we did not charge your card. Please check it and pay it yourself.
account-mail-not-made-card-removed = The card for this payment has been removed, so we did not charge it. Please pay the bill yourself or add a card.
account-mail-not-made-needs-holder = Your bank wants you to confirm this payment yourself, so we could not charge your card automatically. Please sign in and pay the bill.
account-schedule-link = Schedule a payment of { $bill }
account-autopay-title = Autopay
account-autopay-none = Autopay is off for this account.
account-autopay-needs-card = To use autopay, save a card first.
account-autopay-on = Autopay is on: { $card } is charged { $days } days before each due date.
account-autopay-max = Bills over { $amount } are not charged; we e-mail you instead.
account-autopay-card = Card to charge
account-autopay-days = Days before the due date
account-autopay-days-hint = From 0 (on the due date) to 28.
account-autopay-max-label = Most to charge automatically (optional)
account-autopay-max-hint = In dollars. A bill over this is not charged; we e-mail you instead.
account-autopay-start = Turn on autopay
account-autopay-change = Save autopay settings
account-autopay-stop = Turn off autopay
account-autopay-invalid-title = The autopay settings were not saved
account-autopay-choose-card = choose a saved card
account-autopay-days-invalid = enter the days before the due date as a whole number from 0 to 28
account-upcoming-title = Upcoming payments
account-upcoming-none = No payments are scheduled.
account-upcoming-autopay = autopay, what is owed on the day
account-upcoming-cancel = Cancel the payment of { $date }
account-cards-title = Saved cards
account-cards-intro = Cards are saved by the city's payment processor on its own secure page. We keep only the card's brand and last four digits.
account-card-remove = Remove { $card }
account-card-add = Save a card
account-processor-down-title = The payment processor cannot be reached
account-processor-down = Nothing was changed. Please try again in a few minutes.
account-notice-card-saved = Your card is saved.
account-notice-card-not-saved = No card was saved.
account-notice-card-waiting = The payment processor has not finished saving your card yet. Reload this page in a minute.
account-notice-card-removed = The card is removed, here and at the payment processor.
account-notice-autopay-on = Autopay is saved. It applies to bills not yet charged.
account-notice-autopay-off = Autopay is off.
account-notice-scheduled = The payment is scheduled. You can cancel it until it is made.
account-notice-schedule-cancelled = The scheduled payment is cancelled.
account-schedule-title = Schedule a payment of { $bill }
account-schedule-intro = { $amount } is owed, due { $due }. Choose how much to pay, the day, and the card.
account-schedule-amount = Amount in dollars
account-schedule-date = Day to pay
account-schedule-date-hint = As year-month-day, from tomorrow until { $due }, for example 2026-12-15.
account-schedule-card = Card
account-schedule-choose-card = Choose a card
account-schedule-submit = Schedule the payment
account-schedule-date-invalid = enter the day as year-month-day, for example 2026-12-15
account-schedule-date-range = choose a day from tomorrow until { $due }
account-schedule-exists = a payment is already scheduled for this bill on that day
account-code-title = Enter the code from your authenticator app
account-code-intro = Your account asks for a second step: the 6-digit code your authenticator app shows now.
account-code-label = 6-digit code
account-code-hint = It changes every 30 seconds.
account-code-wrong = the code is not right or was used already: enter the code the app shows now
account-code-start-again = Start again
account-totp-title = Two-step verification
account-totp-intro = Scan the QR code with an authenticator app (or type the key below into it), then enter the 6-digit code it shows.
account-totp-secret = Key: { $secret }
account-totp-submit = Turn on two-step verification
account-totp-wrong = the code did not match: scan the new QR code and try again
account-totp-on = On: signing in asks for a code from your authenticator app.
account-totp-off = Off. With it on, signing in also asks for a code from an authenticator app on your phone.
account-totp-start = Set up two-step verification
account-totp-stop = Turn off two-step verification
account-totp-off-refused-title = Two-step verification is still on
account-totp-off-refused = The code was not right. Enter the code your authenticator app shows now.
account-notice-totp-on = Two-step verification is on.
account-notice-totp-off = Two-step verification is off.
