-- A shopper per connection (run with as many threads as connections, so each thread's
-- request/response alternate on one connection): create a cart, add one unit of a variant,
-- check out; the ids are read from the answers. Thread i takes the variants of VARIANTS_FILE
-- at lines i, i + T, ... in turn.
--   wrk -t8 -c8 ... -s bench/wrk/checkout.lua http://host:port -- VARIANTS_FILE THREADS
dofile("bench/wrk/report.lua")

rounds = 0
local step, cart, mine, turn = 1, nil, {}, 0

function init(args)
   local every = tonumber(args[2])
   local n = 0
   for line in io.lines(args[1]) do
      if n % every == id then
         local entity, variant = string.match(line, "^(%S+) (%S+)$")
         table.insert(mine, { entity = entity, variant = variant })
      end
      n = n + 1
   end
   assert(#mine > 0, "no variants for thread " .. id)
end

local json = { ["Content-Type"] = "application/json" }

function request()
   if step == 1 then
      return wrk.format("POST", "/api/carts", json, '{"currency":"USD"}')
   elseif step == 2 then
      turn = turn % #mine + 1
      local item = mine[turn]
      return wrk.format("POST", "/api/carts/" .. cart .. "/items", json, string.format(
         '{"entityId":"%s","variantId":"%s","quantity":1}', item.entity, item.variant))
   end
   return wrk.format("POST", "/api/checkout", json, string.format(
      '{"cartId":"%s","paymentMethodId":"pm_card_visa"}', cart))
end

function response(status, headers, body)
   if not check(status, body) then
      step = 1
      return
   end
   if step == 1 then
      cart = string.match(body, '"id":"([%x%-]+)"')
      step = cart and 2 or 1
   elseif step == 2 then
      step = 3
   else
      rounds = rounds + 1
      step = 1
   end
end
