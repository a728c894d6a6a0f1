# خدمت: اردو پیغامات

## Open311 and report submission errors
err-missing-param = { $name } ضروری ہے۔
err-unknown-service = “{ $code }” نام کی کوئی سروس نہیں: services.json میں سروسز کی فہرست دیکھیں۔
err-unknown-request = درخواست نمبر { $id } موجود نہیں۔
err-unknown-token = اس ٹوکن کی کوئی درخواست موجود نہیں۔
err-unknown-jurisdiction = یہ سرور { $ours } کے لیے ہے، { $jurisdiction } کے لیے نہیں۔
err-format = فارمیٹ چننے کے لیے پتے کے آخر میں ‎.json یا ‎.xml لگائیں۔
err-location-required = جگہ بتائیں: lat اور long، یا address_string، یا ضلع بھیجیں۔
err-lat-range = lat کی قدر ‎-90 سے 90 کے درمیان ہونی چاہیے۔
err-long-range = long کی قدر ‎-180 سے 180 کے درمیان ہونی چاہیے۔
err-lat-long-pair = lat اور long دونوں ساتھ بھیجیں، یا کوئی بھی نہیں۔
err-unknown-district = “{ $district }” نام کا کوئی ضلع نہیں۔
err-attribute-unknown = سروس { $service } میں { $code } نام کا کوئی خانہ نہیں۔
err-attribute-required = اس سروس کے لیے { $code } ضروری ہے۔
err-attribute-single = { $code } میں صرف ایک جواب دیا جا سکتا ہے۔
err-attribute-number = { $code } میں عدد لکھیں۔
err-attribute-datetime = { $code } میں تاریخ اور وقت لکھیں، جیسے 2026-11-26T09:30:00Z۔
err-attribute-not-in-list = “{ $value }” خانہ { $code } کا جواب نہیں ہو سکتا: ان میں سے چنیں: { $allowed }۔
err-field-too-long = { $name } میں { $max } سے زیادہ حروف ہیں۔
err-description-too-long = تفصیل { $max } حروف سے لمبی ہے: اسے مختصر کریں۔
err-media-url = media_url کو ‎http://‎ یا ‎https://‎ سے شروع ہونے والا ویب پتہ ہونا چاہیے۔
err-email = ای میل پتہ درست نہیں۔
err-phone = فون نمبر پاکستانی موبائل نمبر نہیں، جیسے 0300 1234567۔
err-photo-not-image = تصویر پڑھی نہیں جا سکی ({ $reason }): JPEG، PNG، WebP یا GIF بھیجیں۔
err-photo-too-large = تصویر { $max } MB سے بڑی ہے: چھوٹی تصویر بھیجیں۔
err-idempotency-mismatch = یہ Idempotency-Key کسی اور درخواست کے لیے استعمال ہو چکی ہے: نئی کلید استعمال کریں۔
err-idempotency-key = Idempotency-Key میں 1 سے 200 حروف ہونے چاہییں۔
err-api-key-missing = درخواست بھیجنے کے لیے api_key ضروری ہے۔
err-api-key-invalid = api_key درست نہیں یا منسوخ ہو چکی ہے۔
err-rate-limited = آپ کے کنکشن سے بہت زیادہ درخواستیں آئی ہیں: { $seconds } سیکنڈ بعد دوبارہ کوشش کریں۔
err-bad-number = { $name } ‏1 سے { $max } تک کا پورا عدد ہونا چاہیے۔
err-bad-date = { $name } میں تاریخ اور وقت لکھیں، جیسے 2026-11-26T09:30:00Z۔
err-bad-ids = service_request_id میں کوما سے الگ کیے گئے زیادہ سے زیادہ 1000 نمبر ہوں۔
err-bad-status = status کی قدر open، closed یا open,closed ہونی چاہیے۔
err-body = درخواست پڑھی نہیں جا سکی: { $reason }
err-content-type = درخواست application/x-www-form-urlencoded یا multipart/form-data کی صورت میں بھیجیں۔

## Receipts
notice-received = شکریہ۔ آپ کی شکایت موصول ہو گئی ہے؛ { $hours } گھنٹوں کے اندر جواب کی توقع رکھیں۔
open311-key-service = API کلید کے لیے اپنے صوبے کے خدمت منتظمین سے رابطہ کریں۔

## Statuses
status-open = زیر غور
status-investigating = تحقیقات جاری
status-action-scheduled = کارروائی طے
status-in-progress = کام جاری
status-fixed = حل ہو گیا
status-closed = بند
status-duplicate = دہری شکایت
status-not-councils-responsibility = اس محکمے کی ذمہ داری نہیں
status-no-further-action = مزید کارروائی نہیں
status-internal-referral = دوسرے محکمے کو بھیج دی گئی
