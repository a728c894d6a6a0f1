# خدمت: پښتو پیغامونه

## Open311 and report submission errors
err-missing-param = { $name } اړین دی.
err-unknown-service = د “{ $code }” په نوم کوم خدمت نشته: د خدمتونو لړلیک services.json کې وګورئ.
err-unknown-request = د { $id } شمېرې غوښتنه نشته.
err-unknown-token = د دې ټوکن کومه غوښتنه نشته.
err-unknown-jurisdiction = دا سرور د { $ours } لپاره دی، د { $jurisdiction } لپاره نه.
err-format = د بڼې ټاکلو لپاره د پتې په پای کې ‎.json یا ‎.xml ورزیات کړئ.
err-location-required = ځای وښیئ: lat او long، یا address_string، یا ولسوالي ولېږئ.
err-lat-range = lat باید له ‎-90 څخه تر 90 پورې شمېره وي.
err-long-range = long باید له ‎-180 څخه تر 180 پورې شمېره وي.
err-lat-long-pair = lat او long دواړه یوځای ولېږئ، یا هېڅ یو.
err-unknown-district = د “{ $district }” په نوم کومه ولسوالۍ نشته.
err-attribute-unknown = د { $service } خدمت د { $code } خانه نه لري.
err-attribute-required = د دې خدمت لپاره { $code } اړین دی.
err-attribute-single = { $code } یوازې یو ځواب مني.
err-attribute-number = { $code } باید شمېره وي.
err-attribute-datetime = { $code } باید نېټه او وخت وي، لکه 2026-11-26T09:30:00Z.
err-attribute-not-in-list = “{ $value }” د { $code } ځواب نه شي کېدای: له دې څخه وټاکئ: { $allowed }.
err-field-too-long = { $name } له { $max } توریو اوږد دی.
err-description-too-long = تشریح له { $max } توریو اوږده ده: لنډه یې کړئ.
err-media-url = media_url باید د ‎http://‎ یا ‎https://‎ سره پیل شوې وېب پته وي.
err-email = برېښنالیک پته سمه نه ده.
err-phone = د تلیفون شمېره پاکستانۍ موبایل شمېره نه ده، لکه 0300 1234567.
err-photo-not-image = انځور ونه لوستل شو ({ $reason }): JPEG، PNG، WebP یا GIF ولېږئ.
err-photo-too-large = انځور له { $max } MB لوی دی: کوچنی انځور ولېږئ.
err-idempotency-mismatch = دا Idempotency-Key د بلې غوښتنې لپاره کارول شوې: نوې کیلي وکاروئ.
err-idempotency-key = Idempotency-Key باید له 1 تر 200 توریو وي.
err-api-key-missing = د غوښتنې لېږلو لپاره api_key اړینه ده.
err-api-key-invalid = api_key سمه نه ده یا لغوه شوې.
err-rate-limited = ستاسو له اړیکې ډېرې غوښتنې راغلې: { $seconds } ثانیې وروسته بیا هڅه وکړئ.
err-bad-number = { $name } باید له 1 تر { $max } پوره شمېره وي.
err-bad-date = { $name } باید نېټه او وخت وي، لکه 2026-11-26T09:30:00Z.
err-bad-ids = service_request_id باید د کامې په واسطه جلا شوې تر 1000 پورې شمېرې وي.
err-bad-status = status باید open، closed یا open,closed وي.
err-body = غوښتنه ونه لوستل شوه: { $reason }
err-content-type = غوښتنه د application/x-www-form-urlencoded یا multipart/form-data په بڼه ولېږئ.

## Receipts
notice-received = مننه. ستاسو شکایت ترلاسه شو؛ په { $hours } ساعتونو کې د ځواب تمه ولرئ.
open311-key-service = د API کیلي لپاره د خپل ولایت د خدمت له مدیرانو سره اړیکه ونیسئ.

## Statuses
status-open = تر غور لاندې
status-investigating = څېړنه روانه ده
status-action-scheduled = اقدام ټاکل شوی
status-in-progress = کار روان دی
status-fixed = حل شو
status-closed = تړل شوی
status-duplicate = تکراري شکایت
status-not-councils-responsibility = د دې ادارې مسؤلیت نه دی
status-no-further-action = نور اقدام نشته
status-internal-referral = بلې ادارې ته ولېږل شو
