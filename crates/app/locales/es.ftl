# Resident-facing text in Spanish as used in the United States (es-US):
# "usted", dollars, ZIP codes. Every message here has a twin in en.ftl with
# the same variables; a test fails when they drift apart.
# Messages that start lower-case are parts of sentences (field errors that
# are also quoted inside other messages); pages capitalise them.

## Layout

skip-link = Saltar al contenido principal
service-name = Pagos en línea
footer-card-note = Los pagos con tarjeta los procesa el procesador de pagos de la ciudad en su propia página segura. La ciudad nunca ve ni guarda el número de su tarjeta.
language-nav = Idioma
title-with-error = Error: { $title }
error-prefix = Error:
error-summary-title = Hay un problema
continue = Continuar

## Dates: "28 de noviembre de 2026"

date-long = { $day } de { $month } de { $year }
date-range = del { $start } al { $end }
month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre

## Start page

home-title = Pague a la ciudad en línea
home-lead = Pague una factura con tarjeta de débito o de crédito. No necesita una cuenta.
home-pay-department = Pagar una factura de { $department }
home-before-title = Antes de empezar
home-before-bill = Tenga a mano su factura: necesitará el número impreso en ella y el código postal (ZIP) de la dirección de servicio.
home-before-card = Escribirá los datos de su tarjeta en la página segura de nuestro procesador de pagos, no en este sitio.

## Finding the bill

lookup-title = Pagar una factura de { $department }
lookup-intro = Escriba los datos impresos en su factura.
lookup-default-label = Número de cuenta
lookup-default-hint = Impreso en la parte superior de su factura, por ejemplo 1002-3345.
lookup-zip-label = Código postal (ZIP) de la dirección de servicio
lookup-zip-hint = El código postal de 5 dígitos de la dirección donde prestamos el servicio, tal como aparece en la factura.
lookup-pin-label = Código del aviso
lookup-pin-hint = El código de 4 a 12 letras y dígitos impreso en su aviso.
lookup-name-label = Nombre que figura en el aviso
lookup-name-hint = El nombre del titular o del negocio, tal como aparece en el aviso.
lookup-plate-label = Placa del vehículo
lookup-plate-hint = La placa del vehículo indicado en la multa, solo letras y dígitos.
lookup-state-label = Estado de la placa
lookup-state-choose = Elija un estado
lookup-submit = Buscar mi factura
lookup-no-match = No encontramos ninguna factura con ese número de cuenta y ese código postal. Compare ambos con su factura.
lookup-no-match-other = No encontramos ningún aviso con ese número y esos datos. Compárelos con su aviso.

## The account's bills

bills-title = Sus facturas de { $department }
bills-account = Cuenta
bills-service-address = Dirección de servicio
bills-nothing-due = No hay nada pendiente de pago en esta cuenta.
bills-thanks = Gracias.
bills-bill-heading = Factura { $reference }
bills-period = Período de facturación
bills-due-date = Fecha de vencimiento
bills-amount-billed = Importe facturado
bills-paid-so-far = Pagado hasta ahora
bills-amount-due = Importe pendiente
bills-in-progress =
    Hay un pago de { $amount } en curso para esta factura. Se confirmará o se cancelará en { $minutes ->
        [one] { $minutes } minuto
       *[other] { $minutes } minutos
    } como máximo.
bills-how-much = ¿Cuánto quiere pagar?
bills-full-amount = El importe pendiente completo, { $amount }
bills-other-amount = Otro importe
bills-amount-label = Importe en dólares
bills-amount-hint = Por ejemplo, 45.10. El pago mínimo es de { $minimum }.
bills-other-account = Buscar otra cuenta

## Checking the payment

review-title = Revise su pago
review-paying = Va a pagar
review-paying-value = Factura { $reference } de { $department }
review-period = Período de facturación
review-payment = Pago
review-fee = Cargo por conveniencia (tarjeta)
review-total = Total que se cobrará
review-change-amount = Cambiar el importe
review-next-title = Qué pasa después
review-next-processor = Irá a la página segura de nuestro procesador de pagos para escribir los datos de su tarjeta. La ciudad nunca ve el número de su tarjeta.
review-next-receipt = Cuando haya pagado, volverá aquí y verá su recibo.
review-next-balance = El saldo de su factura bajará { $amount } en cuanto el procesador confirme el pago.
review-email-label = Correo electrónico para su recibo (opcional)
review-email-hint = Solo lo usamos para enviarle este recibo.
review-submit = Continuar al pago seguro
review-out-of-date = Esta página estaba desactualizada. Revise el pago a continuación y vuelva a continuar.
review-bill-changed = Esta factura cambió después de que eligió el importe: { $reason }. Vuelva atrás y elija el importe otra vez.

## How the card fee is worked out

fee-percent = el { $percent } % del pago
fee-flat = { $amount } por pago
fee-plus = { $first } más { $second }
fee-some = Un cargo
fee-at-least = { $rule }, con un mínimo de { $amount }
fee-at-most = { $rule }, con un máximo de { $amount }
fee-explained = { $rule }. El cargo cubre el costo del procesamiento de la tarjeta.

## The receipt page

receipt-paid-title = Pago recibido
receipt-number = Su número de recibo es { $number }
receipt-line = Factura { $reference } de { $department }
receipt-fee = Cargo por conveniencia
receipt-total = Total cobrado
receipt-paid-with = Pagado con
receipt-date = Fecha
receipt-emailed = Le enviamos una copia de este recibo a { $address }.
receipt-keep = Guarde su número de recibo. Puede imprimir esta página para sus archivos.
receipt-pay-another = Pagar otra factura
receipt-failed-title = No se realizó su pago
receipt-not-charged = No se le ha cobrado nada.
receipt-try-again = Intentar de nuevo
receipt-expired-title = Su pago no se completó
receipt-expired-text = Se acabó el tiempo para pagar en la página del procesador.
receipt-start-again = Empezar de nuevo
receipt-waiting-title = Estamos confirmando su pago
receipt-waiting-text = El procesador de pagos todavía no nos ha comunicado el resultado. Esto suele tardar unos segundos.
receipt-waiting-do-not-pay = No vuelva a pagar.
receipt-check-again = Consultar el resultado otra vez
receipt-waiting-email = Si nos dio un correo electrónico, le enviaremos allí su recibo en cuanto se confirme el pago.
card-ending = { $brand } terminada en { $last4 }
card-brand-other = Tarjeta
card-unknown = tarjeta

## Why a card payment failed

decline-declined = Su tarjeta fue rechazada. Pruebe con otra tarjeta o comuníquese con el emisor de su tarjeta.
decline-insufficient-funds = Su tarjeta fue rechazada por falta de fondos. Pruebe con otra tarjeta.
decline-expired-card = Su tarjeta está vencida. Pruebe con otra tarjeta.
decline-incorrect-cvc = El código de seguridad no coincide. Revise los 3 o 4 dígitos de su tarjeta e inténtelo de nuevo.
decline-processing-error = El procesador de pagos tuvo un problema. Inténtelo de nuevo en unos minutos.
decline-cancelled = Usted canceló el pago en la página de pago.
decline-unknown = No se pudo realizar el pago.

## The receipt e-mail

mail-subject = Su recibo de pago { $number }
mail-title = Recibo de pago { $number }
mail-heading = { $city }: recibo de pago
mail-receipt-number = Recibo número { $number }, pagado el { $date }.
mail-receipt-number-label = Número de recibo
mail-paid-on-label = Fecha de pago
mail-line = { $department }, factura { $reference }
mail-payment = Pago
mail-view-online = Ver este recibo en línea
mail-view-label = Ver este recibo
mail-keep = Guarde este correo para sus archivos. La ciudad nunca le pedirá el número de su tarjeta por correo electrónico ni por teléfono.

## Error pages

error-reference = Si se comunica con nosotros por este problema, indique la referencia { $reference }.
error-start-page = Ir a la página de inicio
error-not-found-title = No se encontró la página
error-not-found-text = Si escribió la dirección web, compruebe que sea correcta. Si siguió un enlace, es posible que la página haya cambiado de lugar.
error-method-text = Esta página no se puede usar de esa manera.
error-too-large-title = Lo que envió es demasiado grande
error-too-large-text = Vuelva atrás e inténtelo de nuevo con menos texto.
error-bad-request-title = Lo sentimos, no pudimos entender esa solicitud
error-bad-request-text = Vuelva atrás, vuelva a cargar la página e inténtelo de nuevo.
error-forbidden-title = Su sesión venció o el formulario no se envió desde este sitio
error-forbidden-text = Vuelva atrás, vuelva a cargar la página e inténtelo de nuevo. No se cambió nada.
error-unavailable-title = Lo sentimos, el servicio no está disponible
error-unavailable-text = Inténtelo de nuevo en unos minutos. No se le ha cobrado nada.
error-internal-title = Lo sentimos, hay un problema con el servicio
error-internal-text = Inténtelo más tarde. Si estaba pagando, no se le cobró dos veces: busque un recibo en su correo electrónico antes de volver a intentarlo.
error-too-many-title = Demasiados intentos
error-too-many-text = Lo intentó demasiadas veces en poco tiempo. Espere un minuto e inténtelo de nuevo.

## What is wrong with a field (lower-case: also quoted inside sentences)

amount-empty = escriba un importe
amount-not-a-number = escriba un importe en dólares y centavos, como 45.10
amount-too-many-decimals = un importe no puede tener más de dos decimales
amount-negative = el importe no puede ser negativo
amount-too-large = el importe es demasiado grande
amount-nothing-due = no hay nada que pagar en esta factura
amount-zero = escriba un importe mayor que cero
amount-below-minimum = el pago mínimo que se acepta es de { $amount }
amount-partial-not-allowed = esta factura se debe pagar completa ({ $amount })
amount-above-balance = puede pagar como máximo { $amount }, el importe pendiente
account-number-empty = escriba su número de cuenta
account-number-bad-character = un número de cuenta solo tiene letras y dígitos
account-number-too-long = un número de cuenta tiene 32 caracteres como máximo
zip-empty = escriba el código postal (ZIP) de la dirección de servicio
zip-malformed = escriba un código postal de 5 dígitos, como 94110
account-number-format = escriba el número tal como aparece en su aviso, por ejemplo { $example }
pin-empty = escriba el código impreso en su aviso
pin-malformed = el código tiene de 4 a 12 letras y dígitos
name-empty = escriba el nombre tal como aparece en su aviso
name-malformed = escriba un nombre de hasta 100 letras
plate-empty = escriba la placa del vehículo
plate-malformed = una placa tiene de 1 a 8 letras y dígitos
state-malformed = elija el estado de la placa
email-empty = escriba un correo electrónico
email-malformed = escriba un correo electrónico como nombre@ejemplo.com

## Avisos de filtración de datos (cityteller breach notices). El aviso en
## español lleva también el título en inglés que exige California.
notice-title = Aviso de filtración de datos
notice-subject = Aviso de filtración de datos de { $city }
notice-date = Fecha de este aviso: { $date }
notice-reference = Referencia: { $reference }
notice-dear = Estimado/a { $name }:
notice-dear-resident = Estimado/a residente:
notice-intro = Le escribimos para informarle de un incidente que afectó a parte de su información guardada por el servicio de pagos en línea de { $city }.
notice-what-happened = Qué sucedió
notice-what-information = Qué información estuvo involucrada
notice-what-we-are-doing = Qué estamos haciendo
notice-what-you-can-do = Qué puede hacer usted
notice-more-information = Para obtener más información
notice-when-range = La filtración ocurrió entre el { $from } y el { $to }.
notice-when-day = La filtración ocurrió el { $date }.
notice-discovered = La descubrimos el { $date }.
notice-delayed = Este aviso se retrasó porque una agencia policial nos indicó que avisarle antes perjudicaría su investigación.
notice-not-delayed = Este aviso no se retrasó por ninguna investigación policial.
notice-your-information = La información sobre usted que estuvo involucrada:
notice-category-name = su nombre
notice-category-address = su dirección postal (del servicio)
notice-category-email = su correo electrónico
notice-category-account = su número de cuenta o de aviso, y el dato que usó para buscarlo (como el código postal o la placa)
notice-no-cards = Su número de tarjeta no estuvo involucrado: las tarjetas se escriben en la página del procesador de pagos, y el servicio de pagos de la ciudad nunca las recibe ni las guarda.
notice-advice-email = Desconfíe de correos, mensajes de texto o llamadas que le pidan pagar o confirmar datos personales. Nunca pedimos números de tarjeta por correo, mensaje de texto ni teléfono.
notice-advice-account = Revise sus facturas de la ciudad y los estados de cuenta de su banco o tarjeta, y avísenos enseguida de cualquier pago que no reconozca.
notice-advice-post = Desconfíe de cartas que le pidan pagar de una forma poco habitual; compruébelas con los datos de contacto de abajo antes de pagar.
notice-advice-password = Elija una nueva contraseña para su cuenta de pagos en línea («Olvidé mi contraseña» en la página de inicio de sesión) y para cualquier otra cuenta en la que usara la misma contraseña. Si activa la verificación en dos pasos en su cuenta, una contraseña robada no basta por sí sola.
notice-advice-cards = Si cree que alguien usó indebidamente su tarjeta o su cuenta bancaria, llame enseguida al número del reverso de su tarjeta o a su banco.
notice-contact-intro = Si tiene preguntas, comuníquese con { $organisation }:
notice-contact-phone = Teléfono: { $phone }
notice-contact-email = Correo electrónico: { $email }
notice-contact-post = Correo postal: { $address }
notice-contact-web = Sitio web: { $url }
notice-quote-reference = Indique la referencia { $reference }.
notice-page = Página { $page } de { $pages }

## El carrito: facturas de varios departamentos pagadas juntas.
cart-title = Su carrito
cart-empty = Su carrito está vacío.
cart-find-bill = Buscar una factura para pagar
cart-lead = Estas facturas se pagarán juntas: un solo pago con tarjeta y un solo recibo.
cart-paying = Usted paga
cart-remove = Quitar la factura { $reference } de { $department }
cart-total = Total de las facturas
cart-fees-next = En la página siguiente verá el cargo por conveniencia con tarjeta de cada departamento, si lo hay.
cart-checkout = Pagar el carrito
cart-add-another = Añadir una factura de otro departamento
cart-add = Añadir al carrito
cart-link = Su carrito: { $count ->
        [one] { $count } factura
       *[other] { $count } facturas
    }
cart-changed-amount = El monto adeudado de la factura { $reference } de { $department } cambió de { $was } a { $now }. Revise lo que paga y vuelva a pagar el carrito.
cart-changed-paid = La factura { $reference } de { $department } se pagó después de que la añadiera. La quitamos de su carrito.
cart-change = Cambiar el carrito
checkout-several-bills = { $count ->
        [one] { $count } factura
       *[other] { $count } facturas
    }
review-bills = Facturas
review-fee-for = Cargo por conveniencia con tarjeta ({ $department })
review-changed = Esta factura cambió después de que la eligiera: ahora se adeudan { $now }. Vuelva atrás y elija de nuevo el monto.
review-next-balances = El saldo de cada factura baja en lo que paga por ella cuando el procesador confirme el pago.
bills-description = Concepto
bills-pay-all-title = Pagar todo lo de esta cuenta
bills-pay-all-text = Todas las facturas pendientes de esta cuenta, cada una completa: { $amount } en total.
bills-pay-all = Pagar todo
bills-add-all = Añadir todo al carrito
bills-pay-together = este cargo solo se puede pagar junto con las demás facturas pendientes de la cuenta: elija Pagar todo
bills-pay-together-note = Este cargo se paga junto con las demás facturas pendientes de la cuenta: use Pagar todo, arriba.
bills-nothing-to-pay-now = ya no queda nada por pagar en esta cuenta
review-not-separately = La factura { $reference } solo se puede pagar junto con las demás facturas pendientes de la cuenta. Vuelva atrás y elija Pagar todo.

## Renovación de licencias comerciales y certificados.
renew-title = Renovar una licencia comercial
renew-lead = Busque su licencia con su número y el nombre del negocio tal como aparece en la licencia.
renew-find = Buscar mi licencia
renew-licence-title = Renovar la licencia { $number }
renew-business = Negocio
renew-category = Categoría
renew-expires = Vence
renew-not-yet-title = Esta licencia todavía no se puede renovar
renew-not-yet = La licencia { $number } vence el { $expires }. La renovación se abre el { $opens }, { $days } días antes del vencimiento. Vuelva entonces.
renew-late = Esta licencia venció el { $expires }. Se añade un recargo por cada mes, o parte de un mes, desde entonces.
renew-declare-title = Díganos sobre el negocio
renew-gross-label = Ingresos brutos del último año, en dólares
renew-gross-hint = Todo el dinero que recibió el negocio, antes de gastos. Por ejemplo, 250000.
renew-employees-label = Número de empleados
renew-employees-hint = Cuente a todas las personas en la nómina, a tiempo completo y parcial, incluido usted.
renew-quote = Calcular mi tarifa
renew-fee-title = Su tarifa de renovación
renew-continue = Continuar al pago
renew-line-licence = Tarifa de la licencia ({ $category })
renew-line-penalty = Recargo por demora ({ $months ->
        [one] { $months } mes
       *[other] { $months } meses
    })
renew-total = Total
renew-new-expiry = Una vez pagada, la licencia será válida hasta el { $date } y podrá descargar su certificado desde el recibo.
renew-gross-empty = escriba los ingresos brutos, en dólares
renew-gross-bad = escriba los ingresos brutos como una cantidad de dólares, como 250000
renew-gross-too-high = no se pueden declarar en línea ingresos brutos superiores a { $amount }; comuníquese con la oficina de licencias
renew-employees-empty = escriba el número de empleados
renew-employees-bad = escriba el número de empleados como un número entero, como 4
renew-employees-too-many = no se pueden declarar en línea más de { $count } empleados; comuníquese con la oficina de licencias
renew-in-progress = Ya hay un pago en curso para esta renovación. Espere unos minutos y vuelva a mirar.
renew-not-licence = Esta cuenta no es una licencia comercial.
certificate-title = Certificado de licencia comercial
certificate-number = Número de licencia: { $number }
certificate-category = Categoría: { $category }
certificate-valid-until = Válida hasta: { $date }
certificate-code = Código de verificación: { $code }
certificate-check = Cualquiera puede comprobar este certificado en { $url } con el número de licencia y el código.
certificate-display = Exhiba este certificado donde lo vean los clientes.
certificate-download = Descargar el certificado de su licencia (PDF)
verify-title = Comprobar un certificado de licencia comercial
verify-lead = Escriba el número de licencia y el código de verificación impresos en el certificado.
verify-number = Número de licencia
verify-code = Código de verificación
verify-submit = Comprobar el certificado
verify-current = Auténtico y vigente: { $business } ({ $category }) tiene la licencia { $number }, válida hasta el { $date }.
verify-not-current = Este certificado fue auténtico, pero para un período que terminó el { $date }. Puede que el negocio lo haya renovado: pida el certificado vigente.
verify-not-genuine = La ciudad no emitió ningún certificado con este número de licencia y este código. Puede que se haya escrito mal, o no es auténtico.
bills-licence-expires = Esta licencia comercial vence el { $date }.
bills-renew = Renovar esta licencia
renew-contact-title = Sus datos de contacto
renew-contact-on-file = La oficina de licencias tiene estos datos del negocio.
renew-contact-correct = Son correctos
renew-contact-changed = Algo ha cambiado
renew-changes-label = Qué ha cambiado
renew-changes-hint = Por ejemplo un nuevo teléfono, correo electrónico, dirección postal o propietario. La oficina de licencias actualizará sus registros.
renew-contact-missing = indique si los datos de contacto que tenemos son correctos
renew-changes-empty = indique qué ha cambiado
renew-changes-too-long = describa los cambios en { $count } caracteres como máximo
notice-category-contact-changes = los cambios en sus datos de contacto que nos envió al renovar una licencia comercial
notice-category-account-login = el correo electrónico y la contraseña de su cuenta de pagos en línea (solo guardamos la contraseña en una forma codificada que no permite recuperarla, pero si la escribió en nuestro sitio mientras estaba comprometido pudo haber sido vista)
notice-category-saved-card = la marca y los últimos cuatro dígitos de una tarjeta que guardó para pagos automáticos (nunca el número completo, que solo tiene nuestro procesador de pagos)
renew-address = Dirección del negocio

## Cuentas de residentes: registro, inicio de sesión, enlaces enviados por
## correo, cuentas vinculadas, facturas por correo.

home-account-link = Inicie sesión en su cuenta
home-account-create = Cree una cuenta para ver sus facturas en un solo lugar y recibirlas por correo electrónico
account-home-title = Su cuenta
account-signed-in-as = Sesión iniciada como { $email }
account-sign-out = Cerrar sesión
account-guest-note = No necesita una cuenta para pagar una factura: puede pagar como invitado con el número de su factura.
account-signup-title = Crear una cuenta
account-signup-intro = Con una cuenta puede ver las facturas de todas sus cuentas en un solo lugar, recibirlas por correo electrónico y ver lo que ha pagado.
account-signup-submit = Crear la cuenta
account-have-account = Ya tengo una cuenta
account-email-label = Correo electrónico
account-password-label = Contraseña
account-password-hint = Al menos 12 caracteres. Unas cuantas palabras sin relación entre sí son una buena contraseña.
account-confirm-password-label = Escriba la contraseña otra vez
account-check-email-title = Revise su correo electrónico
account-check-spam = Si no ha llegado en unos minutos, busque en la carpeta de correo no deseado.
account-signup-sent = Enviamos un correo a la dirección que nos dio. Siga el enlace que contiene antes de { $hours } horas para terminar de crear su cuenta.
account-confirm-title = Confirme su correo electrónico
account-confirm-intro = Confirme que este es su correo electrónico para terminar de crear su cuenta.
account-confirm-submit = Confirmar mi correo electrónico
account-confirmed-title = Su correo electrónico está confirmado
account-confirmed-body = Ya puede iniciar sesión en su cuenta.
account-link-refused-title = No se puede usar este enlace
account-link-unknown = El enlace no es válido. Compruebe que copió el enlace completo del correo.
account-link-used = El enlace ya se usó. Cada enlace de nuestros correos funciona una sola vez.
account-link-expired = El enlace ha caducado.
account-link-new-confirm = Inicie sesión para recibir un nuevo enlace de confirmación
account-link-new-reset = Pida un nuevo enlace para restablecer su contraseña
account-signin-title = Iniciar sesión
account-signin-submit = Iniciar sesión
account-signin-invalid = el correo electrónico o la contraseña no son correctos
account-signin-throttled = demasiados intentos: vuelva a intentarlo dentro de { $minutes } minutos
account-signin-unconfirmed = Su correo electrónico aún no está confirmado. Le enviamos un nuevo enlace: sígalo y luego inicie sesión.
account-forgot-password = Olvidé mi contraseña
account-create = Crear una cuenta
account-reset-title = Restablecer la contraseña
account-reset-intro = Escriba el correo electrónico de su cuenta. Le enviaremos un enlace para elegir una nueva contraseña.
account-reset-submit = Enviar el enlace
account-reset-sent = Si alguna cuenta usa esa dirección, le enviamos un enlace para elegir una nueva contraseña. El enlace funciona durante { $minutes } minutos.
account-new-password-title = Elija una nueva contraseña
account-new-password-intro = Al elegir una nueva contraseña se cerrarán todas sus demás sesiones.
account-new-password-submit = Guardar la nueva contraseña
account-linked-title = Sus cuentas vinculadas
account-no-links = Todavía no ha vinculado ninguna cuenta.
account-nothing-due = No hay nada pendiente en esta cuenta.
account-open-bills-caption = Facturas pendientes de la cuenta { $account }
account-bill-reference = Factura
account-bill-due = Vence
account-bill-balance = Pendiente
account-pay-bills = Pagar estas facturas
account-paperless-on = Recibe estas facturas por correo electrónico, con un recordatorio antes del vencimiento.
account-paperless-start = Recibir estas facturas por correo electrónico
account-paperless-stop = Dejar de recibir facturas por correo
account-unlink = Quitar esta cuenta
account-link-title = Vincular una cuenta
account-link-intro = Elija el departamento que le factura:
account-link-heading = Vincular una cuenta de { $department }
account-link-proof = Para demostrar que la cuenta es suya, escriba los datos de su factura más reciente.
account-last-bill-label = Importe de su factura más reciente
account-last-bill-hint = El total de la factura más reciente, en dólares y centavos, por ejemplo 84.12.
account-link-submit = Vincular la cuenta
account-link-no-match = no encontramos ninguna cuenta con esos datos: compárelos con su factura más reciente
account-link-throttled-title = Demasiados intentos
account-link-throttled = Los datos no coincidieron demasiadas veces. Por su seguridad, vuelva a intentarlo dentro de una hora.
account-back = Volver a su cuenta
account-history-title = Pagos
account-no-history = Todavía no hay pagos en sus cuentas vinculadas.
account-history-date = Fecha
account-history-bill = Factura
account-history-amount = Importe
account-history-receipt = Recibo
account-history-refunded = Reembolsado
account-history-partly-refunded = Reembolsado en parte
account-history-disputed = En disputa
account-notice-linked = La cuenta está vinculada.
account-notice-already = Esa cuenta ya estaba vinculada.
account-notice-unlinked = La cuenta se quitó de su cuenta.
account-notice-paperless-on = Recibirá las facturas de esta cuenta por correo electrónico.
account-notice-paperless-off = Ya no recibirá las facturas de esta cuenta por correo electrónico.
account-notice-reset = Su nueva contraseña está guardada. Se cerraron todas sus demás sesiones.
account-unsubscribe-title = Dejar de recibir facturas por correo
account-unsubscribe-intro = ¿Dejar de recibir correos sobre las facturas de esta cuenta? Recibirá las facturas en papel como antes.
account-unsubscribe-submit = Dejar de recibir los correos
account-unsubscribed-title = Ya no recibirá estos correos
account-unsubscribed-body = No le enviaremos correos sobre las facturas de esta cuenta. Puede volver a activarlos desde su cuenta.
password-too-short = use al menos 12 caracteres; unas cuantas palabras sin relación entre sí son una buena contraseña
password-too-long = use como máximo 128 caracteres
password-common = esta contraseña es demasiado común: aparece en listas de contraseñas filtradas
password-contains-email = no use su correo electrónico en la contraseña
password-repetitive = esta contraseña es demasiado repetitiva
password-mismatch = las dos contraseñas no coinciden
account-mail-ignore = Si usted no lo pidió, puede ignorar este correo.
account-mail-confirm-subject = Confirme su correo electrónico para los pagos en línea de { $city }
account-mail-confirm-heading = Bienvenido a los pagos en línea de { $city }
account-mail-confirm-body = Para terminar de crear su cuenta, confirme su correo electrónico. El enlace funciona durante { $hours } horas.
account-mail-confirm-action = Confirmar mi correo electrónico
account-mail-exists-subject = Su cuenta de pagos en línea de { $city }
account-mail-exists-heading = Ya tiene una cuenta
account-mail-exists-body = Alguien, probablemente usted, intentó crear una cuenta con este correo electrónico. Ya tiene una.
account-mail-exists-action = Iniciar sesión
account-mail-exists-reset = Si olvidó su contraseña, puede elegir una nueva: { $url }
account-mail-reset-subject = Restablezca su contraseña de los pagos en línea de { $city }
account-mail-reset-heading = Elija una nueva contraseña
account-mail-reset-body = Siga el enlace para elegir una nueva contraseña. Funciona durante { $minutes } minutos, una sola vez.
account-mail-reset-action = Elegir una nueva contraseña
account-mail-reset-ignore = Si usted no lo pidió, ignore este correo: su contraseña no cambia.
account-mail-2fa-off-subject = Se desactivó la verificación en dos pasos de su cuenta de { $city }
account-mail-2fa-off-heading = La verificación en dos pasos está desactivada
account-mail-2fa-off-body = Un empleado de la ciudad desactivó la verificación en dos pasos de su cuenta, como usted lo pidió cuando no podía usar su aplicación de autenticación. Se cerraron todas sus sesiones. Inicie sesión con su contraseña y vuelva a activar la verificación en dos pasos desde la página de su cuenta.
account-mail-2fa-off-not-you = Si usted no lo pidió, elija una nueva contraseña ahora ({ $url }) y llame a la ciudad.
account-mail-bill-subject = Su factura de { $department } está lista
account-mail-bill-heading = Su factura de { $department } está lista
account-mail-due-subject = Recordatorio: su factura de { $department } vence el { $date }
account-mail-due-heading = Su factura vence el { $date }
account-mail-bill-account = Cuenta: { $department } { $account }
account-mail-bill-amount = Importe: { $amount }, vence el { $date }.
account-mail-bill-action = Inicie sesión para ver y pagar la factura
account-mail-bill-autopay-note = Nunca le pediremos por correo el número de su tarjeta ni su contraseña.
account-mail-unsubscribe = Dejar de recibir estos correos
account-mail-autopay-subject = El pago automático pagará su factura de { $department }
account-mail-autopay-body = Cargaremos { $amount } a su { $card } el { $date } por la factura que vence el { $due }.
account-mail-autopay-change = Para cambiar o detener el pago automático antes de esa fecha, inicie sesión en su cuenta.
account-mail-declined-subject = Su pago de { $department } no se realizó
account-mail-declined-body = Su banco rechazó el cargo a su { $card } por la factura que vence el { $due }.
account-mail-declined-retry = Lo intentaremos de nuevo el { $date }. También puede pagar ahora con otra tarjeta.
account-mail-declined-final = No lo intentaremos de nuevo. Pague la factura usted mismo antes del vencimiento.
account-mail-not-made-subject = Su factura de { $department } no se pagó automáticamente
account-mail-not-made-over-max = La factura supera el máximo que fijó para el pago automático, así que no cargamos su tarjeta. Revísela y páguela usted mismo.
account-mail-not-made-card-removed = La tarjeta de este pago se quitó, así que no la cargamos. Pague la factura usted mismo o agregue una tarjeta.
account-mail-not-made-needs-holder = Su banco quiere que usted confirme este pago, así que no pudimos cargar su tarjeta automáticamente. Inicie sesión y pague la factura.
account-schedule-link = Programar un pago de { $bill }
account-autopay-title = Pago automático
account-autopay-none = El pago automático está desactivado para esta cuenta.
account-autopay-needs-card = Para usar el pago automático, guarde primero una tarjeta.
account-autopay-on = El pago automático está activado: se carga a su { $card } { $days } días antes de cada vencimiento.
account-autopay-max = Las facturas de más de { $amount } no se cargan; le enviamos un correo.
account-autopay-card = Tarjeta para el cargo
account-autopay-days = Días antes del vencimiento
account-autopay-days-hint = De 0 (el día del vencimiento) a 28.
account-autopay-max-label = Máximo para cargar automáticamente (opcional)
account-autopay-max-hint = En dólares. Una factura mayor no se carga; le enviamos un correo.
account-autopay-start = Activar el pago automático
account-autopay-change = Guardar el pago automático
account-autopay-stop = Desactivar el pago automático
account-autopay-invalid-title = No se guardó el pago automático
account-autopay-choose-card = elija una tarjeta guardada
account-autopay-days-invalid = escriba los días antes del vencimiento como un número entero de 0 a 28
account-upcoming-title = Próximos pagos
account-upcoming-none = No hay pagos programados.
account-upcoming-autopay = pago automático, lo pendiente ese día
account-upcoming-cancel = Cancelar el pago del { $date }
account-cards-title = Tarjetas guardadas
account-cards-intro = Las tarjetas las guarda el procesador de pagos de la ciudad en su propia página segura. Solo conservamos la marca y los últimos cuatro dígitos.
account-card-remove = Quitar { $card }
account-card-add = Guardar una tarjeta
account-processor-down-title = No se puede contactar al procesador de pagos
account-processor-down = No se cambió nada. Vuelva a intentarlo en unos minutos.
account-notice-card-saved = Su tarjeta está guardada.
account-notice-card-not-saved = No se guardó ninguna tarjeta.
account-notice-card-waiting = El procesador de pagos aún no terminó de guardar su tarjeta. Vuelva a cargar esta página en un minuto.
account-notice-card-removed = La tarjeta se quitó, aquí y en el procesador de pagos.
account-notice-autopay-on = El pago automático está guardado. Se aplica a las facturas aún no cargadas.
account-notice-autopay-off = El pago automático está desactivado.
account-notice-scheduled = El pago está programado. Puede cancelarlo hasta que se realice.
account-notice-schedule-cancelled = El pago programado está cancelado.
account-schedule-title = Programar un pago de { $bill }
account-schedule-intro = Se deben { $amount }, con vencimiento el { $due }. Elija cuánto pagar, el día y la tarjeta.
account-schedule-amount = Importe en dólares
account-schedule-date = Día del pago
account-schedule-date-hint = Como año-mes-día, desde mañana hasta el { $due }, por ejemplo 2026-12-15.
account-schedule-card = Tarjeta
account-schedule-choose-card = Elija una tarjeta
account-schedule-submit = Programar el pago
account-schedule-date-invalid = escriba el día como año-mes-día, por ejemplo 2026-12-15
account-schedule-date-range = elija un día desde mañana hasta el { $due }
account-schedule-exists = ya hay un pago programado para esta factura ese día
account-code-title = Escriba el código de su aplicación de autenticación
account-code-intro = Su cuenta pide un segundo paso: el código de 6 dígitos que muestra ahora su aplicación de autenticación.
account-code-label = Código de 6 dígitos
account-code-hint = Cambia cada 30 segundos.
account-code-wrong = el código no es correcto o ya se usó: escriba el código que muestra ahora la aplicación
account-code-start-again = Empezar de nuevo
account-totp-title = Verificación en dos pasos
account-totp-intro = Escanee el código QR con una aplicación de autenticación (o escriba en ella la clave de abajo) y luego escriba el código de 6 dígitos que muestra.
account-totp-secret = Clave: { $secret }
account-totp-submit = Activar la verificación en dos pasos
account-totp-wrong = el código no coincide: escanee el nuevo código QR e inténtelo de nuevo
account-totp-on = Activada: al iniciar sesión se pide un código de su aplicación de autenticación.
account-totp-off = Desactivada. Si la activa, al iniciar sesión también se pedirá un código de una aplicación de autenticación en su teléfono.
account-totp-start = Configurar la verificación en dos pasos
account-totp-stop = Desactivar la verificación en dos pasos
account-totp-off-refused-title = La verificación en dos pasos sigue activada
account-totp-off-refused = El código no es correcto. Escriba el código que muestra ahora su aplicación de autenticación.
account-notice-totp-on = La verificación en dos pasos está activada.
account-notice-totp-off = La verificación en dos pasos está desactivada.
