# Khidmat: English messages. Every message here must also be in ur/main.ftl and ps/main.ftl.

## Open311 and report submission errors
err-missing-param = The parameter { $name } is required.
err-unknown-service = There is no service “{ $code }”: services.json lists the services.
err-unknown-request = There is no service request { $id }.
err-unknown-token = There is no submission with this token.
err-unknown-jurisdiction = This server serves jurisdiction { $ours }, not { $jurisdiction }.
err-format = Add .json or .xml to the address to choose the format.
err-location-required = Say where: send lat and long, or address_string, or district.
err-lat-range = lat must be a number from -90 to 90.
err-long-range = long must be a number from -180 to 180.
err-lat-long-pair = Send lat and long together, or neither.
err-unknown-district = There is no district “{ $district }”.
err-attribute-unknown = The service { $service } has no attribute { $code }.
err-attribute-required = The attribute { $code } is required for this service.
err-attribute-single = The attribute { $code } takes one value.
err-attribute-number = The attribute { $code } must be a number.
err-attribute-datetime = The attribute { $code } must be a date and time such as 2026-11-26T09:30:00Z.
err-attribute-not-in-list = “{ $value }” is not a value of { $code }: choose from { $allowed }.
err-field-too-long = { $name } is longer than { $max } characters.
err-description-too-long = The description is longer than { $max } characters: shorten it.
err-media-url = media_url must be a web address starting with http:// or https://.
err-email = The e-mail address is not valid.
err-phone = The phone number is not a Pakistani mobile number such as 0300 1234567.
err-photo-not-image = The photo could not be read as an image ({ $reason }): send a JPEG, PNG, WebP or GIF.
err-photo-too-large = The photo is larger than { $max } MB: send a smaller one.
err-idempotency-mismatch = This Idempotency-Key was already used for a different request: use a new key.
err-idempotency-key = The Idempotency-Key header must be 1 to 200 characters.
err-api-key-missing = An api_key is required to submit a service request.
err-api-key-invalid = The api_key is not valid or has been revoked.
err-rate-limited = Too many submissions from your connection: try again in { $seconds } seconds.
err-bad-number = { $name } must be a whole number from 1 to { $max }.
err-bad-date = { $name } must be a date and time such as 2026-11-26T09:30:00Z.
err-bad-ids = service_request_id must be a comma-separated list of up to 1000 request ids.
err-bad-status = status must be open, closed, or open,closed.
err-body = The request could not be read: { $reason }
err-content-type = Send the request as application/x-www-form-urlencoded or multipart/form-data.

## Receipts
notice-received = Thank you. Your report has been received; expect a response within { $hours } hours.
open311-key-service = Ask the Khidmat administrators of your province for an API key.

## Statuses
status-open = Open
status-investigating = Investigating
status-action-scheduled = Action scheduled
status-in-progress = In progress
status-fixed = Fixed
status-closed = Closed
status-duplicate = Duplicate
status-not-councils-responsibility = Not this department's responsibility
status-no-further-action = No further action
status-internal-referral = Referred to another department
