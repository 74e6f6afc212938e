"""Writes shared/assets/embedded-sms.tsv, the project's own SMS spam dataset, and reports on it (Chapter 6).

Usage:
    python ch06/make_sms_dataset.py          # (re)write the file and print the report
    python ch06/make_sms_dataset.py --check  # exit 1 if the committed file differs from what this script writes

Every message was invented for this project (MIT license). About 200 are written out by hand below; the
rest come from a small grammar: a template for one kind of message (a prize scam, a parcel scam, running
late, dinner plans, ...) whose {slots} are filled from lists of interchangeable parts, parts that may have
slots of their own, and a texting style on top (abbreviations, case, punctuation, kisses, the odd typo).
Spam that looks friendly and ham that looks like spam are kinds of their own, so no single word gives
the label away. Phone numbers come from the ranges reserved for fiction (07700 900xxx, 01632 960xxx,
0808 157 0xxx, 555-01xx; short codes 555xx) and links use example.com/.net/.org and the .example
top-level domain, so none of them reaches anyone.

One seeded random.Random drives everything, so the file is the same byte for byte on every run.
Format: UTF-8, one message per line, `label<TAB>text`, labels `ham`/`spam`, no header (the UCI layout).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
from collections.abc import Callable

from shared.near_duplicates import near_duplicate_pairs, near_duplicate_share
from shared.spam_data import EMBEDDED_SMS, create_balanced_dataset, random_split, read_sms_file
from shared.tokenizer import get_tokenizer

SEED = 2024
NUM_HAM, NUM_SPAM = 860, 780
MAX_GENERATED_CHARS = 260

# --- messages written by hand ------------------------------------------------------------------------

HAND_HAM = """\
Just got out of the dentist, my whole face is numb lol
Can u tell Priya the rehearsal is at 6 not 7
Mate I just saw a fox in the garden eating our bin bags
Mum says Sunday lunch is at 1, don't be late this time
Thanks for last night, had such a good time. Your cooking is unreal
where did u park? I'm by the big tree near the exit
Did anyone find a blue scarf at the party? Think I left it
Haha I knew you'd say that
Leaving the office now, need anything from the shop?
The plumber says it's the valve, £85 to fix. Shall I tell him to go ahead?
I'm outside
Nan's 90th is on the 12th, she wants everyone there by 2. Can you bring the folding chairs?
Exam went ok I think, question 4 was evil
pls stop sending me cat videos during lectures, I nearly died laughing in front of everyone
What's the wifi password again?
Happy 30th old man!! Pint on me when I see you
Can't find the charger anywhere, did you take it?
Just booked the flights!! 14th to the 21st, Lisbon here we come
Ur dad's stuck at the garage, can u get Ella from swimming at 5.15
Traffic's mental, going the back way
gonna be a bit late, save me some cake
Did you remember to record the final?
Yes please, 2 sugars
Who's got my umbrella? It was by the door this morning
I've put the key under the plant pot, the blue one
Not coming tonight sorry, feel rough. Have fun though
How much do I owe you for the concert tickets? Was it 42 each?
Our flight is delayed 3 hours, so bored. Airport sandwiches are criminal
Remember it's bin day tomorrow, recycling this week
Hey it's Kofi, new number, save it! Lost my old phone at the festival
Your mum called, she wants the recipe for the lemon cake
Can we move our call to 4? Dentist ran over
Omg the baby just said her first word. It was duck
I got the job!!!!
Brilliant news about the house, so happy for you both
Sorry for your loss Helen. Thinking of you all, let me know if I can help with anything at all
Won the 5-a-side 6-2, I scored twice. Legend
The car failed its MOT, needs new tyres. £240 :(
Quick q: do we need to bring our own towels to the spa?
K
Alright see u there
No worries at all mate
Can't talk, in the cinema. Call u after
Meeting's cancelled, the whole team's off sick
Is the 38 bus still running on Sundays?
I'll bring the salad and some beers
Have you seen my black jeans? Need them for tonight
Got a parking ticket outside the gym, 35 quid. Fuming
The bank rang me about a weird payment on the joint account, did you buy something from a garden centre?
Dad, the banking app keeps logging me out, can you show me how to fix it when I'm home?
Just transferred the 60 for the holiday deposit, check it came through
Free tonight? Got wine and no plans
Hahaha stop it, I'm at work and people are staring
How was the hospital? Any news?
The kids want to know if Uncle Raj is coming to the barbecue
Can you send me the photos from the wedding? The ones by the lake
Running 10 mins behind, order me a flat white
There's a spider in the bath and I'm not dealing with it. Come home
Reminder that book club is at mine on Thursday, we're doing the one with the lighthouse
Good luck in the interview tomorrow, you'll smash it
Morning! Sleep well?
im so hungover never drinking again
lol u wish
wot time u finishing 2day?
cu at 8 by the clock
nah its fine dont worry about it
Sorry missed your call, was in the shower. Everything ok?
Tell Jamal thanks for fixing my bike, I owe him one
When's your train back on Sunday?
Don't forget your passport!!
Grandad wants to learn how to video call, can you help him this weekend?
Dinner's ready, come down
Sat in the car park, no rush
We're at table 12 near the window
It's snowing here!! Proper snow
Lost my voice completely so can't call, text me
The new series starts tonight at 9, don't watch without me
Can you water the plants while we're away? The big one only needs a bit
Hiya, just checking you got home safe x
We won the raffle at the school fair, a hamper full of cheese lol
The council finally fixed the streetlight outside ours
Why is there a goat in your profile picture
Can you do the school run on Wednesday? I've got an early shift
I'm cooking way too much chilli, come over and eat some
Landlord says the boiler man is coming between 8 and 12 tomorrow
That parcel you ordered came, left it with number 14
Got a text saying my parcel was held and I had to pay 2.99, nearly fell for it
Dentist reminder for you: Tuesday 9.20. Don't forget like last time!
Ok I'll ask her and let you know
See you Monday, have a good weekend
We need to talk about the holiday budget, the villa's more than we thought
Aw thank you, that's really kind
Are you still selling your bike? My brother might want it for £100
Class is cancelled tomorrow, the teacher's off
Is it fancy dress or not? Nobody tells me anything
Just seen your mum in the supermarket, she says you never call her lol
Congrats on passing your driving test!! Can I have a lift now
The cat's been sick on the sofa. Again.
Half term plans? We're thinking camping if the weather holds
Ring me when you're free, no rush, just want to hear about your trip
Ordered the pizza, 20 mins
Please can you stop using my shampoo
Tickets are sold out for Saturday but there's still Friday, shall I get 4?
Great run this morning! 5k in 27 mins, a new best
The match is on at the pub, 3pm kick off, meet at half 2?
Yes I got it, thank you so much x
Do you know a good electrician? Ours has retired
Can you check if I left the iron on? I'm panicking
Everyone's asleep, come in quietly
Heading back now, we had such a lovely day at the seaside. The twins found a crab and named it Gerald
Long one sorry. So the landlord finally replied, he says the rent goes up by £50 from March but he'll repaint the hall and fix the kitchen window. I think we should ask for a dishwasher too. What do you reckon? Let's talk tonight
Hey, are you okay? You seemed a bit quiet at lunch. No pressure, just here if you want to chat x
Just a heads up, the road by the school is closed for the next 2 weeks, use the bridge instead
U free 2moro? need help moving the sofa, pizza and beer in return
My phone's on 3% so if I go quiet that's why
Bought the wrong size again. Returning it tomorrow
Yeah I'm up, what's happened?
Wow that's a lot of money for a sofa haha
Thank you for the flowers, they're beautiful and made my whole week
Team dinner on Friday at 7, the company is paying so order the steak
Right, plan for Saturday: meet at the station at 10, train to the coast, lunch at the fish place, walk along the cliffs, back by 6. Bring a coat, it's always windy up there
I've been thinking about what you said and you're right. I'll talk to my manager on Monday about going part time. Thanks for listening, it really helped
Had my first driving lesson today. Stalled 4 times and went round the same roundabout twice but the instructor said I was promising lol
call me on 07700 900461 when you land, that's my work mobile
The quiz answers are up at quiz.example.org/week12 if you want to see how badly we did
Won 2 cinema tickets in the office sweepstake, fancy Thursday?
My bank card got swallowed by the machine so I'm cash only today, can you get the coffees?
Urgent!! Need your signature on the form before 5 or we lose the deposit
Mum's new number is 07700 900318, she finally gave up on the old brick
"""

HAND_SPAM = """\
You have 1 new voicemail. Listen at http://vm-inbox.example.com/play?id=55821 before it is deleted
Your friend Sarah has sent you a gift! Open it at go.example/gft91 within 2 days
Hey gorgeous, still thinking about our chat? I'm online now. Text KISS to 55502 (£1.50/msg)
DEAR WINNER, your email was selected in the international lucky draw. Send your name, address and bank details to claims@example.org
Last chance to upgrade to the newest phone for FREE. Our agents are waiting: call 0808 157 0944, lines close 8pm
We've been trying to contact you about your car's extended warranty. Press 1 or call 01632 960417 to speak to an advisor
Hi it's Emma from the dating site :) my profile pics got deleted, see them here: pics-4u.example.net/emma
Your order #44721 for a 65 inch TV (£1,299) has been confirmed. If you did not place this order call 07700 900512 immediately
Ur awarded a mystery holiday! Call 0808 157 0233 to find out where. Landline only. PO Box 55, Exampletown
Quick cash for your old phone! We pay up to £300, free postage bag. Text SELL to 55561
Someone sent you a secret admirer message <3 To find out who, text REVEAL to 55517. Cost 3 x £1.50
Mum I've lost my phone and I'm using a friend's. Can you send £150 to this account so I can get home? Will explain later
Bored of the same old chat? Meet singles near you tonight - www.localdates.example/join
Final reminder: your television licence payment failed. Avoid a £1,000 fine, update at tvl-renew.example.com
Want a slimmer you in 30 days? Miracle tea, first pack FREE, just pay P&P. Order: slimtea.example.net
Congratulations, you've been approved for a platinum credit card with a £5,000 limit. Activate at card-approve.example.com
Hi, I'm Lisa, HR manager. We saw your CV and would like to offer you a remote role, £450/day. Add me on WhatsApp: +44 7700 900871
Hey it's me, got a new number. Save it and delete the old one. Also can you do me a quick favour?
Good news! Your pension check found £8,412 unclaimed in your name. Free check: pension-find.example.org
Hello, this is a courtesy message from your energy supplier. You are owed £276 from overcharging. Reply YES and we'll process it
I saw you at the gym yesterday and couldn't stop thinking about you. Is that weird? Text me back at 55539 ;)
New msg from an admirer! ***** wants to meet you. Find out who: txt DATE to 55520
Stop paying too much for your energy! Switch in 2 mins and save up to £400 a year. Reply SWITCH
This is the last reminder from Northgate Bank. Your account is scheduled for closure today. Cancel closure: northgate-secure.example.com
You are one of 5 finalists in our £10,000 photo competition! Pay the £4.99 entry fee to confirm your place: foto-win.example.net
Happy Friday! To celebrate we're giving away 100 free phones. Just reply with your postcode
psst... the secret sale starts now. 70% off EVERYTHING for the next 3 hrs only. shh: stylebox.example.com/vip
Have you been in an accident that wasn't your fault? You could claim up to £3,500. Call free 0808 157 0711
Hi dear, I am a widow with a fortune of $4.5 million and I need a trustworthy person to help me. Please reply
your parcel is coming today!! track it live here trk.example/q8Zz
Get 1000 followers in 1 hour, real accounts, cheap! Visit fame-fast.example.com
Hey u! Fancy some fun tonight? Hot singles are waiting 4 u. Txt HOT to 55544. 18+ £2/msg
Tonight's lucky numbers are in and you matched 5! Claim your prize fund: lotto-check.example.org/you
We've frozen your SocialHub account because of a copyright report. Appeal within 12 hours: socialhub-appeal.example.net
Rates are about to rise! Lock in your mortgage now at 1.9%. Free callback: reply CALL
Did you know you can get a FREE boiler? Government grant available in your area. Check now: boiler-grant.example.com
Hi Tom, it's Anna from the party on Saturday, you said to text you :) anyway I'm selling my old laptop cheap if you want it, £80, just send the money first and I'll post it
Exclusive: the hottest new ringtones 4 ur phone every week. Txt RING to 55507. £3/wk, stop anytime
Your loyalty points are expiring! Redeem 4,200 points for a free gift before Sunday at rewards-now.example.net
Hello parent, the school lunch account has an unpaid balance of £23.40. Pay now to avoid meals being stopped: school-pay.example.org
Thank you for renewing your antivirus subscription, £299.99 has been charged. To cancel and get a refund call 01632 960883
Reminder: your free trial ends today and you'll be charged £49.99. Cancel here: trial-cancel.example.com
Guess what?! U r in with a chance 2 win a weekend in Paris 4 2! Just txt PARIS to 55555 now. £1.50/txt
We are giving away our stock of returned laptops for £1 each. Limited, first come first served: laptop1.example.net
Your number won our mobile lottery, prize £750,000! Contact our agent Mr Ray with ref no. WX-3319
Wanna know what your future holds? Psychic Rosa is online now. Call 0808 157 0500, first 3 mins free
gm! crypto signals group is open again for 24h, last month we did +380%. join: t.example/signalz
Hello, is your house ready for winter? FREE loft insulation for homeowners, reply YES to book a survey
Ur mobile contract is due for renewal. Get the newest handset & unlimited data for just £9/month. Call 0808 157 0381
ALERT: Your phone may have a virus! Download our cleaner app now to protect your photos: fixphone.example.com
Hey there! You have been selected for a free sample box of luxury cosmetics. Just cover postage: beautybay.example.org/free
Congrats!! U got a free entry into our £200 weekly draw. Txt ENTER to 55526 to confirm. Opt out txt STOP
Sorry I missed you earlier! It's Kelly, we matched online. My phone's playing up so message me here instead: chat-kelly.example.net
Dear customer, we have updated our terms. To keep using online banking please re-confirm your details at ob-update.example.com
Your taxi driver left a note: you were charged a £25 cleaning fee. Dispute at topride-help.example.com
We noticed you haven't claimed your free £10 bet. Play now, no deposit needed! bet-bonus.example.net 18+
Lose 10 pounds in 10 days, doctors hate this trick! slim.example/10in10
Text from your council: you qualify for a £150 council tax rebate. Apply with your card details at council-rebate.example.org
WIN a year of free pizza!!! All you gotta do is reply PIZZA and share with 3 friends
Exclusive invite: join our members' club and get luxury watches at 90% off. Invite code VIP77 at watchclub.example.com
Xmas is coming!! Get 3 months of FREE streaming when u reply XMAS. £4.50/wk after. Stop txt STOP
Hi, I'm from the local estate agents. We have buyers waiting for houses on your street, cash offers today. Call 07700 900239
Your vehicle tax has expired. Renew now to avoid an £80 fine and clamping: car-tax.example.com
Good evening! Answer our 3 question quiz and you could be driving a brand new car this summer. Start: car-quiz.example.net
One message from Pinnacle Pay: 2 payments are waiting to be accepted in your wallet. Accept: pinnaclepay.example.com/accept
Make friends, have fun, win prizes! Join the chat club, txt CLUB to 55510 - first week free then £5/week
Only 2 left! The viral heated jacket everyone is talking about, now 60% off. Grab yours: jacket.example.org
I need your help urgently, I'm stuck abroad and my wallet was stolen. Please send £300 via this link and I'll pay you back when I'm home: pay-me.example.net
hiya hun, sooo bored tonight, wanna chat? text me babe x 55548 (£1/msg)
You have (3) unread messages from a secret admirer. Read them at luvnotes.example.com
Attention homeowner: your area has been approved for free solar panels. Limited government places left. Reply SUN
Your phone number has been randomly picked to receive £500 worth of shopping vouchers. Call 0808 157 0152 between 9-5
Thank you for applying for the job! Please pay the £35 registration fee to start training: job-start.example.org
"""

# --- the grammar: "slot": "option | option | ...", an empty option makes a part optional ----------------

RAW_GRAMMAR = {
    # shared parts
    "name": "Amy | Ben | Chloe | Dan | Priya | Tom | Jess | Sam | Leah | Omar | Kofi | Mia | Raj | Zara | "
            "Liam | Ella | Noah | Grace | Yusuf | Hana | Jack | Ruby | Alex | Nina | Leo | Maya | Finn | "
            "Isla | Theo | Sofia | Kai | Aisha | Josh | Freya | Marcus | Lucy | Dev | Ines | Callum | "
            "Rosa | Matt | Esme | Ollie | Tara | Jamal | Beth | Ravi | Kate | Luis | Nadia | Owen | Chen | "
            "Lola | Femi | Anya | Greg",
    "day": "tomorrow | tonight | on Friday | on Saturday | this weekend | on Monday | next week | "
           "on the {daynum} | on Thursday evening | after work | later | this afternoon | "
           "on Sunday morning | on Wednesday | tomorrow night | before the weekend",
    "hey": "Hey | Hi | Hiya | Hello | Oi | Yo | Morning | Evening | Hey {name} | Hi {name} | {name}",
    "hey_opt": " | | | {hey},",
    "thanks": "thanks | thank you | cheers | ta | thanks so much | you're a star | owe you one | legend",
    "gadget": "phone | tablet | laptop | games console | smart watch | camera | 4K TV | "
              "pair of wireless headphones | e-bike | coffee machine | robot vacuum | drone | smartphone | "
              "speaker system | hot tub",
    "event": "the football final | a sold-out concert | the summer festival | the grand prix | a VIP gig | "
             "the big match | a West End show | the music awards | the comedy night",
    "shop": "PizzaPlanet | StyleBox | MegaMart | FreshBasket | GadgetGuru | ShoeStop | BurgerBarn | "
            "TrendyWear | HomeWorld | BeautyBay | FitFuel | CinemaMax | TopRide | SunTan Travel | PetPals",
    "discount": "50% off | {pct} off | buy 1 get 1 free on | 2 for 1 on | half price | up to 70% off | "
                "an extra {pct} off | free delivery on | {money_mid} off",

    # spam: prizes and draws
    "spam_prize": "{congrats} {you_won} {prize}! {claim} {deadline}. {small} | "
                  "{congrats} {your_entry} {prize}. {claim}. {small} | "
                  "{you_won_caps} {prize}!! {claim} {deadline} | "
                  "{greet_spam} {selected} {prize}. {claim}. {small} | "
                  "{draw_intro} {you_won} {prize}. {claim} {deadline}. {small} | "
                  "{prize} {is_waiting}! {claim} {deadline}. {small}",
    "congrats": "Congratulations! | CONGRATULATIONS! | Congrats! | Great news! | WINNER! | "
                "You're a WINNER! | Lucky day! | Amazing news! | Good news! | Well done! | Attention! | "
                "Hooray! | It's your lucky day! | Big news!",
    "you_won": "you have won | you've won | u have won | you are the winner of | "
               "your mobile number has won | ur number has won | you have been awarded | "
               "you've been chosen to receive | you are guaranteed | you have qualified for | "
               "your phone was picked for | u r entitled to",
    "your_entry": "your entry in our {draw} has won | your ticket in the {draw} came up and wins | "
                  "your number came out top in the {draw} and gets | your reply to our {draw} won",
    "draw": "weekly draw | monthly prize draw | summer draw | customer prize draw | mobile lottery | "
            "New Year draw | loyalty draw | bonus draw | spring giveaway | national text lottery | "
            "jackpot draw",
    "you_won_caps": "YOU HAVE WON | U HAVE WON | WINNER! YOU GET | FREE FOR YOU: | CLAIM YOUR | "
                    "YOU'RE OUR WINNER:",
    "selected": "you have been selected to receive | we picked your number for | "
                "you're one of {num_small} lucky customers to get | "
                "you are our {ordinal} customer and get | your number was chosen at random for | "
                "as a valued customer you qualify for",
    "ordinal": "10th | 100th | 1000th | 500th | 50th | 1,000,000th",
    "prize": "{money_big} cash | a {money_big} cash prize | a {money_big} award | a brand new {gadget} | "
             "a {money_mid} {shop_kind} voucher | a holiday for 2 to {destination} | "
             "{money_big} in gift cards | a free {gadget} | {num_small} months free {service} | "
             "a {destination} cruise for two | a {money_mid} gift card | tickets to {event} | "
             "a new car worth {money_big} | {money_mid} bonus credit | a mystery gift worth {money_mid} | "
             "a {gadget} and {money_mid} cash | a weekend break in {destination}",
    "shop_kind": "shopping | supermarket | fashion | electronics | restaurant | travel | fuel | cinema | "
                 "online store | department store",
    "destination": "the Canaries | Spain | Florida | Bali | a tropical island | Paris | the Maldives | "
                   "Greece | Dubai | New York | Lapland | the Alps | Jamaica | Thailand | Rome | Ibiza",
    "service": "streaming | music | gym membership | unlimited data | mobile calls | movie rentals | "
               "broadband | cloud storage",
    "claim": "To claim call {phone} | Call {phone} to claim | Claim now at {link} | "
             "Text {keyword} to {shortcode} to claim | Reply {keyword} to claim | Go to {link} to claim | "
             "Call {phone} quoting code {code} | Claim yours: {link} | Txt {keyword} to {shortcode} | "
             "Ring {phone} now | To collect call {phone} | Visit {link} and enter code {code} | "
             "Just reply {keyword} and we'll send it | Collect at {link}",
    "keyword": "WIN | CLAIM | YES | GO | PRIZE | CASH | FREE | BONUS | NOW | GET | OK | REWARD | TREAT | "
               "GIFT",
    "deadline": "before midnight | within 24 hours | within 24hrs | by 5pm today | before {date} | "
                "in the next 48 hours | today only | by Friday | before it expires | while stocks last | "
                "this week only | ASAP | before the offer ends | in the next hour | now",
    "small": " | | T&Cs apply | T&C's apply, 18+ | 18+ only | Msg&data rates may apply | "
             "Calls cost {money_fee}/min | {money_fee}/msg | Reply STOP to opt out | Txt STOP to end | "
             "Terms at {link} | Std rates apply | Max {num_small} entries per person | "
             "Cost {money_fee} per text | Subject to availability | Offer ends {date} | "
             "PO Box {num_box}, Exampletown | Unsubscribe: text STOP to {shortcode} | Optout txt NO | "
             "Sub {money_fee}/wk",
    "greet_spam": "Dear customer, | Dear {name}, | Hi {name}! | Hello! | Hi there, | Hey! | "
                  "Valued customer: | URGENT! | Dear user, | FREE MSG: | Attn: | Good morning!",
    "draw_intro": "This is your final notice. | Final attempt to contact you! | "
                  "We have been trying to reach you. | 2nd attempt to contact u. | Last chance! | "
                  "Our records show a prize unclaimed. | This is the prize desk. | "
                  "Message from the awards team:",
    "is_waiting": "is waiting for you | has your name on it | is yours | is reserved for you | "
                  "is ready to collect | has not been claimed yet | will be sent today",

    # spam: banks and accounts
    "spam_bank": "{bank_alert} {bank_issue}. {bank_action} {link} {bank_deadline}. | "
                 "{bank_name}: {bank_issue}. {bank_action} {link} | "
                 "{bank_alert} {bank_issue}. If this wasn't you, {bank_call} {phone}. | "
                 "{bank_name}: a payment of {money_mid} to {merchant} is pending. Not you? "
                 "{bank_cancel} {link} | "
                 "{bank_name} security: {bank_issue}. {bank_action} {link} to avoid {bank_consequence}.",
    "bank_alert": "ALERT: | Security alert: | IMPORTANT: | Notice: | Urgent: | Fraud alert: | Warning! | "
                  "Account notice: | [Secure message] | Action required:",
    "bank_name": "Your bank | Northgate Bank | Harbourside Bank | Meridian Savings | Crestline Bank | "
                 "Oakfield Credit Union | BlueRiver Bank | PayNest | CoinVault | Lumen Bank",
    "bank_issue": "we detected unusual activity on your account | a new device signed in to your account | "
                  "your card ending {digits4} has been suspended | "
                  "your account has been temporarily locked | "
                  "a payment of {money_mid} could not be verified | "
                  "your online banking access expires today | we noticed a login from {place_far} | "
                  "your debit card is blocked due to suspicious activity | "
                  "your security details need updating | an unrecognised payee was added to your account | "
                  "your account ending {digits4} is on hold | a direct debit to {merchant} was declined | "
                  "your PIN was entered incorrectly 3 times",
    "bank_action": "Verify your details at | Please confirm your identity at | "
                   "Secure your account now at | To unlock go to | Update your info here: | "
                   "Log in to confirm: | Review the activity at | Restore access at | Confirm it was you at",
    "bank_cancel": "Cancel here: | Stop the payment at | Dispute now at | Block it at",
    "bank_call": "call our fraud team on | ring us urgently on | call | contact security on",
    "bank_deadline": "within 24 hours | today | to avoid suspension | or your account will be closed | "
                     "before 6pm | immediately | or it will be locked for good",
    "bank_consequence": "suspension | a {money_fee} fee | permanent closure | losing access | "
                        "further charges",
    "merchant": "OnlineMart | QuickShop | PayFlow | StreamPlus | TechZone | GameHub | FastFoods Ltd | "
                "TravelNow | an unknown merchant | CityCabs",
    "place_far": "an unknown device | another country | a new location | Madrid | Toronto | Sydney | "
                 "Singapore",
    "spam_account": "{svc}: {acct_issue}. {acct_action} {link} | "
                    "{svc} notice - {acct_issue}. {acct_action} {link} {bank_deadline}.",
    "svc": "StreamPlus | CloudBox | MailHub | PhotoVault | MusicNow | SocialHub | Your mobile network | "
           "Your broadband provider | Your email provider",
    "acct_issue": "your subscription has been paused due to a payment problem | "
                  "your storage is full and your photos will be deleted | "
                  "your mailbox has reached its limit | your account will be deactivated | "
                  "we couldn't process your last payment | your number will be disconnected today | "
                  "your {num_small}00 loyalty points expire tonight | "
                  "your contract qualifies for a free upgrade",
    "acct_action": "Update billing at | Keep your files: | Restore service at | Verify here: | "
                   "Redeem them at | Claim your upgrade at",

    # spam: parcels, fines, refunds
    "spam_delivery": "{courier}: {parcel_issue}. {parcel_action} {link} | "
                     "{courier} - {parcel_issue}. {fee_sentence} {parcel_action} {link} {deadline} | "
                     "Your {item} {parcel_state}. {fee_sentence} {link} | "
                     "{hey} we tried to deliver your {item} today but {parcel_problem}. "
                     "{parcel_action} {link}",
    "courier": "ParcelFast | SwiftPost | QuickDrop | Postal Service | DPX | ShipRight | Royal Parcel | "
               "Delivery Team | ExpressLane | CourierHub | Your courier",
    "parcel_issue": "your parcel could not be delivered | we were unable to deliver your package | "
                    "your package is on hold at our depot | your delivery has been suspended | "
                    "your parcel has an unpaid shipping fee | your item is awaiting customs clearance | "
                    "we missed you today | your package {tracking} is waiting | "
                    "your parcel was returned to the depot | a delivery attempt failed",
    "parcel_state": "is held at customs | has been returned to sender | is waiting for payment | "
                    "could not be delivered because of an incomplete address | "
                    "is on its way but needs confirmation | is stuck in our warehouse",
    "parcel_problem": "no one was home | the address was incomplete | a fee of {money_fee} is unpaid | "
                      "the postcode was wrong | a signature was needed",
    "fee_sentence": " | A fee of {money_fee} is due. | Pay {money_fee} to release it. | "
                    "Shipping fee: {money_fee}. | To avoid return pay the {money_fee} fee. | "
                    "Outstanding charge {money_fee}.",
    "parcel_action": "Reschedule at | Confirm your address here: | Pay and rebook: | Track and pay: | "
                     "Arrange redelivery at | Update details: | Release it here: | Book a new slot:",
    "item": "parcel | package | order | item",
    "tracking": "ref {code} | #{code} | no. {digits8}",
    "spam_fine": "{fine_issue}. {fine_action} {link} {fine_deadline} | "
                 "{refund_issue}. {refund_action} {link}",
    "tax_body": "Tax Office | Revenue Dept | HM Tax Service | Tax Refunds Team",
    "fine_issue": "Toll Service: you have an unpaid toll charge of {money_fee} | "
                  "Parking Services: a parking fine of {money_mid} is overdue | "
                  "Traffic Fines Unit: your vehicle was recorded speeding and a fine of {money_mid} is due | "
                  "{tax_body}: your tax return has an error | "
                  "{tax_body}: a penalty of {money_mid} has been issued against you | "
                  "Council Tax Team: your council tax payment failed | "
                  "Congestion Charge: your vehicle {code} entered the zone without paying",
    "fine_action": "Pay now at | Settle it at | View and pay: | Avoid court action, pay at | Appeal or pay:",
    "fine_deadline": " | within 48 hours | today to avoid a {money_mid} penalty | before {date} | "
                     "immediately",
    "refund_issue": "{tax_body}: you are due a tax refund of {money_mid} | "
                    "Energy Support Scheme: you are eligible for an energy rebate of {money_mid} | "
                    "{tax_body}: an overpayment of {money_mid} will be returned to you | "
                    "Benefits Office: you qualify for a {money_mid} cost of living payment",
    "refund_action": "Claim it here: | Submit your bank details at | Apply before it expires: | "
                     "Fill in the form:",

    # spam: paid services, loans, offers, money-making, surveys
    "spam_premium": "{free_caps} {premium_thing}! {txt_to}. {small} | {premium_q} {txt_to}. {small} | "
                    "{greet_spam} {premium_thing} {premium_hook}. {txt_to}. {small} | "
                    "{hey}! {quiz_intro} {txt_to}. {small}",
    "free_caps": "FREE | FREE MSG: | Free entry! | FREEMSG | Get your FREE | Special offer: | New! | "
                 "Hot! | Exclusive:",
    "premium_thing": "ringtone of the week | polyphonic tone | wallpaper pack | top 10 chart tones | "
                     "weekly joke service | daily horoscope | celeb gossip alerts | "
                     "football score alerts | adult chat line | live psychic reading | mobile game | "
                     "video clip of the week | music quiz | love match test | 3 free tones",
    "premium_hook": "just for you | is waiting | is ready to download | this week only | "
                    "is the hottest around | with no contract",
    "premium_q": "Who's the love of your life? | Want to know who fancies you? | Bored? | Fancy a chat? | "
                 "Are you a true football fan? | Think you know music? | Lonely tonight? | Feeling lucky?",
    "quiz_intro": "answer 1 easy question and win {prize}. | "
                  "play our trivia game for a chance of {prize}. | "
                  "name the capital of France to win {prize}.",
    "txt_to": "Text {keyword2} to {shortcode} | Txt {keyword2} to {shortcode} now | "
              "Send {keyword2} to {shortcode} | Reply {keyword2} | Call {phone} | "
              "Text {keyword2} {num_small} to {shortcode} | txt {keyword2} to {shortcode} 2 join",
    "keyword2": "TONE | CHAT | MATCH | LUCKY | JOKE | STAR | FAN | QUIZ | DATE | LOVE | PLAY | GAME | "
                "SPORT | MUSIC",
    "spam_loan": "{loan_q} {loan_offer} {loan_terms}. {loan_action} | "
                 "{greet_spam} {loan_offer} {loan_terms}. {loan_action} {small} | "
                 "{loan_claim} {loan_action}",
    "loan_q": "Need cash fast? | Short of money this month? | Struggling with bills? | Need a loan? | "
              "Behind on payments? | Money worries? | Payday too far away?",
    "loan_offer": "get up to {money_big} today | borrow {money_big} in minutes | "
                  "you're pre-approved for {money_big} | we can lend you {money_big} | "
                  "cash in your account within the hour | instant loans up to {money_big}",
    "loan_terms": ", no credit check | , bad credit OK | , no paperwork | at a low {pct} APR | "
                  ", 100% online | , decision in 60 seconds | , no questions asked",
    "loan_claim": "You may be able to write off up to {pct} of your debt under a new government scheme. | "
                  "Did you know you could be owed {money_big} for mis-sold insurance? | "
                  "You could be due {money_mid} compensation for your accident. | "
                  "Your credit score could go up by 100 points in a week.",
    "loan_action": "Reply YES for details. | Apply at {link} | Call {phone} free today. | "
                   "Text LOAN to {shortcode}. | Tap {link} to check. | Reply INFO and an agent will call.",
    "spam_promo": "{shop}: {discount} {promo_scope} {promo_when}! Use code {code} at {link}. {small} | "
                  "{discount} {promo_scope} at {shop} {promo_when}. {promo_cta}. {small} | "
                  "{shop} {promo_news}: {discount} {promo_scope}. {promo_cta}",
    "promo_scope": "everything | all pizzas | the whole store | selected lines | your next order | "
                   "all orders over {money_small} | new season styles | trainers | meal deals | "
                   "your first ride | all bookings",
    "promo_when": "this weekend only | today only | until midnight | ends Sunday | for 48 hrs | "
                  "this week | while stocks last | starting now",
    "promo_cta": "Shop now: {link} | Order at {link} | Show this text in store | Book now at {link} | "
                 "Reply SHOP for the link | Don't miss out! | Download our app: {link}",
    "promo_news": "VIP sale | members' event | summer sale | clearance | birthday treat | "
                  "exclusive offer | anniversary sale",
    "spam_invest": "{invest_hook} {invest_claim} {invest_proof}. {invest_cta} | "
                   "{greet_spam} {invest_claim} {invest_proof}. {invest_cta}",
    "invest_hook": "Make money while you sleep! | Tired of your 9-5? | Crypto is exploding! | "
                   "Hi, I'm {name}, a trading mentor. | Insider tip: | Don't miss the next big coin. | "
                   "Financial freedom is one click away.",
    "invest_claim": "turn {money_mid} into {money_big} in {num_small} days | "
                    "our AI bot earns {pct} a week | members made {money_big} last month | "
                    "get guaranteed returns of {pct} | "
                    "invest {money_mid} and withdraw {money_big} by Friday | this coin will 10x this month",
    "invest_proof": " | | - proven results | with zero risk | just like thousands of others | "
                    "as seen on TV | , 100% legal and guaranteed",
    "invest_cta": "Join the group: {link} | Start now at {link} | Reply INVEST for info | "
                  "WhatsApp me on {phone} | Only {num_small} spots left: {link} | "
                  "Add me on {phone} to learn how",
    "spam_job": "{job_hook} {job_offer} {job_terms}. {job_cta} | "
                "Hi {name}, {job_recruit} {job_offer} {job_terms}. {job_cta}",
    "job_hook": "Work from home! | Hiring now! | Part-time job available. | Earn extra cash! | "
                "URGENT vacancies: | Looking for a side income? | Be your own boss!",
    "job_offer": "earn {money_mid} a day liking posts online | make {money_mid}/day from your phone | "
                 "get paid {money_mid} per hour for simple tasks | "
                 "flexible online work, {money_big} a month | "
                 "product testers wanted, {money_mid} per review | paid surveys, up to {money_mid} per day",
    "job_terms": ", no experience needed | , just 1 hour a day | , start today | , paid daily | "
                 ", no interview",
    "job_recruit": "I'm {name} from {agency} and your CV was recommended to us: | "
                   "our HR team found your profile online: | we are recruiting in your area:",
    "agency": "TalentBridge | StaffQuick | JobLink | PrimeHire | WorkNest",
    "job_cta": "Reply JOB to apply. | Message {phone} on WhatsApp. | Apply at {link} | "
               "Add our recruiter: {link} | Text WORK to {shortcode}.",
    "spam_survey": "{survey_hook} {survey_ask} {survey_reward}: {link}",
    "survey_hook": "Thank you for being a loyal customer! | You've been chosen! | "
                   "Tell us what you think. | Quick question from {shop}: | Your opinion matters!",
    "survey_ask": "Complete our {num_small}-minute survey | Answer {num_small} short questions | "
                  "Rate your last visit | Take part in our customer study",
    "survey_reward": "and get a {money_mid} gift card | to receive a free {gadget} | "
                     "for a chance to win {prize} | and claim your reward | and get {money_mid} cash back",

    # spam that looks friendly
    "spam_friendly": "Hi {mum_dad}, {phone_trouble} {new_number_note} {friendly_ask} | "
                     "{hey_friendly} {wrong_number_open} {friendly_pivot} | "
                     "{hey_friendly} it's {name_f}, {got_number} {friendly_chat} {friendly_cta} | "
                     "{hey_friendly} {name_f} here :) {friendly_chat} {friendly_cta} | "
                     "{hey_friendly} long time no see! {friendly_pivot}",
    "mum_dad": "Mum | Dad | mum | dad | mam | mummy | mother",
    "phone_trouble": "my phone broke | I dropped my phone in the bath | "
                     "my phone got stolen at the station | my screen smashed | "
                     "I lost my phone on the bus | my old phone died | my SIM stopped working",
    "new_number_note": "so this is my new number. | and I'm texting from a friend's phone. | "
                       "so save this number. | so this is my temporary number. | "
                       "and the old number won't work any more. | so delete the old number.",
    "friendly_ask": "Can you text me on WhatsApp? | "
                    "I need to pay a bill urgently and my banking app is locked, can you help? | "
                    "can you send me {money_mid} {day}, I'll pay you back x | "
                    "can u message me here, it's urgent | are you free to talk? I need a favour x | "
                    "I need {money_mid} for the {urgent_bill} before {time}, can you transfer it? | "
                    "don't call, my mic doesn't work, just text me back | "
                    "can you pay the {urgent_bill} for me? I'll send the details",
    "urgent_bill": "rent | phone bill | new phone | train ticket | vet bill | deposit | car repair | "
                   "electric bill",
    "hey_friendly": "Hey | Hi | Hiya | Hey you | Hello dear | Hey stranger | Hi hun | Heyy | Hello there",
    "wrong_number_open": "is this {name}? | sorry, is this still {name}'s number? | "
                         "{name}, are we still on for {activity} {day}? | "
                         "did we meet at the conference last week? | "
                         "is this the {pro} I spoke to on {weekday}?",
    "friendly_pivot": "Oh sorry, wrong number! But since we're talking, {pivot_hook} | "
                      "Anyway you seem nice, {pivot_hook} | "
                      "My {relative} taught me to trade {asset} and I earn {money_mid} a day, "
                      "I can show you. | "
                      "I'm new in {city} and looking for friends, add me on WhatsApp {phone} | "
                      "{pivot_hook}",
    "pivot_hook": "have you tried {asset} trading? I made {money_big} last month. | "
                  "what do you do for work? I work in {asset} investing. | "
                  "can I ask you something about {asset}? | "
                  "do you want to earn {money_mid} a day from home? | "
                  "I've got a great opportunity for you, it's about {asset}.",
    "relative": "uncle | aunt | cousin | older brother | friend's dad",
    "asset": "crypto | gold | bitcoin | forex | stocks | oil",
    "got_number": "got your number from a friend, | saw your profile online, | we matched last week, | "
                  "I found your number in my old contacts, | we met at {place} {day},",
    "friendly_chat": "fancy a chat? | want to be friends? | "
                     "I'm bored and looking for someone fun to talk to | I think you're cute ;) | "
                     "I've got some pics to show you ;) | are you single? | I can't stop thinking about you",
    "friendly_cta": " | text me back on {shortcode} | reply {keyword2} to chat | call me on {phone} | "
                    "find me at {link} | msgs cost {money_fee} | my pics are at {link}",
    "name_f": "Jess | Kelly | Sophie | Anna | Lily | Tasha | Emma | Mandy | Kim | Mia | Carla | Dani",
    "spam_short": "{you_won_caps} {prize}! {claim} | {free_caps} {premium_thing}: {link} | "
                  "URGENT! Call {phone} {deadline} | {keyword} to {shortcode} for {prize} | "
                  "{bank_alert} {bank_issue}: {link}",

    # ham: plans, lateness, errands
    "ham_plans": "{hey_opt} {plan_q} {plan_detail} | {hey_opt} {plan_statement} {plan_q_short} | "
                 "{plan_statement} {meet_at} {time}, {plan_detail}",
    "plan_q": "are you coming to {place} {day}? | fancy {activity} {day}? | "
              "what time are we meeting {day}? | still on for {activity} {day}? | "
              "do you want to come to {place} with us {day}? | are you free {day}? | "
              "who's going to the {event_ham} {day}? | can we do {activity} {day} instead? | "
              "shall we try {place} {day}? | is {name} coming to the {event_ham}?",
    "plan_detail": " | we're meeting at {time}. | {name} is coming too. | I'll book a table for {time}. | "
                   "no worries if not. | let me know asap. | should be fun! | I've got a spare ticket. | "
                   "bring {bring}. | first round's on me. | {name} can give us a lift. | "
                   "it's {name}'s turn to pay.",
    "plan_statement": "I'm heading to {place} {day}. | we're going for {activity} {day}. | "
                      "{name} wants to do {activity} {day}. | me and {name} are at {place}. | "
                      "I've booked {place} for {time}. | the {event_ham} is {day}. | "
                      "{name} and I are thinking about {activity} {day}.",
    "plan_q_short": "coming? | u in? | want to join? | you around? | fancy it? | any thoughts? | "
                    "let me know | are you up for it?",
    "meet_at": "meet you at | see you at | pick you up at | come round at | we'll be there by",
    "place": "the pub | the station | Luca's | the park gates | the gym | the library | "
             "the cafe on Mill Road | the bus stop | uni | the office | the cinema | the market | mine | "
             "yours | the beach | the chippy | the usual place | the corner shop | Sam's flat | "
             "the football pitch | the new Thai place | the bowling alley | the garden centre | "
             "the leisure centre",
    "activity": "a drink | a coffee | lunch | dinner | a walk | a run | the cinema | pizza | the footie | "
                "a quick pint | brunch | bowling | a swim | the pub quiz | shopping | board games | "
                "a movie night | a bike ride | karaoke",
    "event_ham": "party | match | gig | quiz | barbecue | wedding | leaving do | school play | book club | "
                 "band practice | christening | open day",
    "bring": "snacks | a jumper | some drinks | your charger | the speaker | cash for the taxi | your ID | "
             "the camping chairs | a cake",
    "ham_late": "{sorry} {late_reason}, {eta}. {late_q} | {late_reason}. {eta}. {late_q} | "
                "{eta}, {late_reason} {sorry_short}",
    "sorry": "sorry | soz | so sorry | argh sorry | sorry sorry | apologies",
    "late_reason": "running late | stuck in traffic on {road} | the bus didn't turn up | "
                   "missed the {time} train | still at work | just left the house | overslept | "
                   "couldn't find my keys | the meeting ran over | the queue at the shop was massive | "
                   "I'm lost lol | the car won't start | {name} needed a lift | "
                   "had to go back for my {forgot}",
    "road": "the ring road | the bypass | the high street | the motorway | the bridge",
    "forgot": "wallet | phone | glasses | keys | bag | ticket",
    "eta": "be there in {num_small} mins | be there by {time} | home by {time} | 10 mins away | "
           "almost there | leaving now | on my way | be with you asap | start without me",
    "late_q": " | save me a seat? | order me a drink? | can you wait? | is that ok? | are you there yet? | "
              "tell {name} I'm coming",
    "sorry_short": " | sorry! | x | :( | lol | my bad",
    "ham_errands": "{hey_opt} {errand_ask} {errand_why} | {errand_ask} {errand_why} {thanks} | "
                   "{errand_info} {errand_info} {errand_followup}",
    "errand_ask": "can you pick up {grocery} on your way home? | could you grab {grocery} from the shop? | "
                  "don't forget to feed the {pet} | can you take the bins out? | "
                  "remember to call {relative_ham} | can you let the {tradesperson} in at {time}? | "
                  "can you get {grocery} and {grocery}? | "
                  "can you collect {kid_name} from {kid_place} {day}? | did you book the {pro}? | "
                  "please charge the car | can you move your car, the {tradesperson} needs the drive",
    "tradesperson": "plumber | electrician | window cleaner | gas man | builder | painter",
    "relative_ham": "grandma | grandad | your mum | your dad | auntie Sue | uncle Pete | your sister",
    "kid_place": "school | swimming | football | the party | nursery | drama club",
    "pet": "cat | dog | fish | rabbit | hamster | puppy",
    "grocery": "milk | bread | eggs | bananas | teabags | some pasta | toilet roll | butter | cheese | "
               "onions | washing up liquid | cat food | a lemon | coffee | rice | tomatoes | nappies | "
               "batteries",
    "errand_why": " | we're out. | I forgot. | I'm stuck at work. | no rush. | thanks love. | "
                  "I'll pay you back. | the shop shuts at {time}. | {name} is coming for dinner.",
    "errand_info": "I've left the key under the mat. | dinner's in the oven. | "
                   "the washing machine's finished. | your parcel came, it's in the hall. | "
                   "the landlord's coming round {day}. | "
                   "I put {money_small} in the jar for the window cleaner. | "
                   "the car's booked in for its MOT {day}. | {relative_ham} called, all fine. | "
                   "the {tradesperson} is coming {day}. | the {pet} has been fed. | "
                   "there's {dish} in the fridge.",
    "errand_followup": " | see you later. | love you x | any questions call me. | don't forget! | "
                       "back around {time}.",
    "kid_name": "Ollie | Mia | the kids | Freddie | Ava | Josh | Lily",

    # ham: work and school, chat, replies, wishes
    "ham_work": "{work_info} {work_ask} | {hey_opt} {work_q} {work_q_tail} | "
                "{work_info} {work_info2} {thanks}",
    "work_info": "the meeting's moved to {time}. | I've sent you the slides. | "
                 "the client called back, they're happy. | I'm working from home {day}. | "
                 "the printer's broken again. | my shift finishes at {time}. | "
                 "I'm covering for {name} {day}. | the report is due {day}. | I can't make standup. | "
                 "the interview went well I think! | {name} is off sick {day}. | "
                 "the {subject} exam is {day}.",
    "work_info2": "no stress. | the boss is in a mood. | I've put it in the shared folder. | "
                  "it's been a long day. | {name} says the same. | just so you know.",
    "work_ask": "can you check the figures? | can you cover my shift {day}? | bring the laptop. | "
                "can you send me the notes? | let me know if you need anything. | "
                "shall we go through it {day}? | can we swap shifts {day}?",
    "work_q": "did you finish the {subject} essay? | how did the {subject} exam go? | "
              "are you doing the {subject} homework? I'm stuck on question {num_small}. | "
              "what time's the lecture {day}? | did you get the email from {name}? | "
              "have you got the notes from {subject}? | how was your first day? | "
              "is the library open {day}? | can I copy your {subject} notes? | "
              "did you claim your expenses for the {city} trip? | "
              "are you going to apply for the job {name} mentioned?",
    "work_q_tail": " | no rush. | {name} hasn't got a clue either. | I'm panicking lol. | ta.",
    "subject": "maths | chemistry | history | french | biology | physics | english | stats | coding | "
               "geography",
    "ham_chat": "{reaction_opt} {news}. {chat_followup} | {news}. {news}. {chat_followup} | "
                "{reaction_opt} {chat_q} {chat_tail} | {news}, {chat_q}",
    "reaction_opt": " | | lol | haha | omg | aww | wow | no way | ha | yay | ugh | oh no | brilliant | "
                    "nice one | lmao | bless",
    "news": "just watched {show_thing}, {show_opinion} | the {pet} {pet_did} again | "
            "{family_member} {family_news} | I'm so {feeling} today | work was {work_adj} today | "
            "I've {started_thing} | {weather_line} | I can't stop laughing at that video you sent | "
            "I miss you loads",
    "show_thing": "the new episode | the final | that documentary about {topic} | "
                  "the film you recommended | the match highlights",
    "topic": "sharks | space | the pyramids | volcanoes | bees | the Romans",
    "show_opinion": "no spoilers! | it was amazing | what a load of rubbish | I cried at the end | "
                    "can't believe how it ended",
    "pet_did": "chewed my shoe | ate a sofa cushion | escaped into next door's garden | "
               "knocked the plant over | brought in a mouse | was sick on the rug",
    "family_member": "my mum | my sister | my brother | grandad | nan | my cousin | dad | my flatmate | "
                     "{name}",
    "family_news": "says hi | is pregnant! | got engaged! | passed the driving test | "
                   "is coming to stay {day} | has gone vegan lol | started a new job | is driving me mad | "
                   "won a baking competition | is moving to {city}",
    "feeling": "tired | bored | happy | stressed | hungry | cold | fed up | excited",
    "work_adj": "awful | so long | actually fine | mad busy | so quiet | weird",
    "started_thing": "started running again | finally finished the painting | "
                     "signed up for a pottery class | started learning guitar | booked a holiday | "
                     "joined a choir | stopped drinking coffee",
    "weather_line": "the weather is lovely here | it's pouring here | it's freezing | so windy today | "
                    "it's boiling in the office",
    "chat_followup": " | how are you? | what you up to? | speak soon. | call me later? | "
                     "hope you're well. | tell me everything. | how's {name}? | miss you. | "
                     "are you around {day}? | reply when you can x",
    "chat_q": "how was {how_was}? | what did the {pro} say? | how's {person} doing? | "
              "are you watching {watch}? | did you see {name}'s {new_thing}? | "
              "what are you doing for {holiday}? | have you finished {book_thing} yet? | "
              "is your {body} any better? | how's the new {new_life} going? | did you get home ok?",
    "how_was": "your weekend | the wedding | the gig | your date | the trip to {city} | the interview | "
               "the party | your first day | the hospital appointment | the match",
    "pro": "doctor | dentist | vet | mechanic | landlord | teacher | estate agent | plumber",
    "person": "your mum | your dad | your nan | the baby | your sister | the puppy | {name}",
    "watch": "the match | the final | the news | that new show | the game | the snooker",
    "new_thing": "new haircut | new car | new boyfriend | new girlfriend | tattoo | new flat | "
                 "engagement ring",
    "holiday": "Christmas | New Year | your birthday | half term | the bank holiday | Easter",
    "book_thing": "that book | the series | the jigsaw | your essay",
    "body": "back | knee | cold | tooth | ankle | cough | head",
    "new_life": "job | flat | course | car | gym",
    "chat_tail": " | | {news}. | I'm so {feeling} today. | {family_member} {family_news}.",
    "ham_short": "{short_reply} | {short_reply} {short_reply2} | {short_reply}, {time}?",
    "short_reply": "ok | k | okay | yes | yeah | yep | no | nope | sure | fine | cool | sounds good | "
                   "will do | on it | done | thanks | ta | cheers | haha | lol | got it | maybe | "
                   "not sure | why? | where? | when? | call me | busy | in a meeting | driving | "
                   "can't talk | later | np | no worries | of course | deal | perfect | great",
    "short_reply2": "x | :) | thanks | see you | see u soon | love you | mate | babe | lol | "
                    "will text later | brb",
    "ham_greet": "{greeting} {greet_wish} | {greeting} {greet_wish}, {greet_extra} | "
                 "{sympathy} {sympathy_wish}",
    "greeting": "happy birthday! | happy birthday {name}! | congrats on the new job! | "
                "congratulations on the baby! | happy anniversary you two! | merry christmas! | "
                "happy new year! | good luck {day}! | well done on your results! | happy mother's day! | "
                "happy retirement {name}!",
    "sympathy": "get well soon! | so sorry to hear about your nan. | sorry you're poorly. | "
                "heard about the accident, are you ok? | sorry about the job, their loss.",
    "sympathy_wish": "thinking of you | let me know if you need anything | I can bring food round {day} | "
                     "here if you want to talk | sending love from all of us",
    "greet_wish": "have an amazing day | hope you have a lovely one | you deserve it | "
                  "can't wait to celebrate | drinks on me next time | enjoy every minute | "
                  "love from all of us | hope it goes brilliantly",
    "greet_extra": "{name} says the same | see you {day} | the card's in the post | cake soon! | "
                   "we're so proud of you",

    # ham: food, travel, money between friends, links, longer news
    "ham_food": "{food_q} {food_opt} | {hey_opt} {food_q} {food_opt} {food_tail}",
    "food_q": "what do you want for dinner? | shall we get a takeaway {day}? | "
              "are you eating at home {day}? | I'm making {dish}, want some? | fancy {dish}? | lunch? | "
              "I'm starving. | have we got any {grocery}? | {name} is bringing {dish}.",
    "food_opt": " | {dish} or {dish}? | I'll cook. | my treat. | ready at {time}. | or shall we go out? | "
                "I can pick it up. | {name} can't eat {allergen}.",
    "dish": "pasta | curry | pizza | stir fry | lasagne | fish and chips | tacos | soup | a roast | "
            "burgers | sushi | noodles | chilli | a salad | dumplings | a pie",
    "allergen": "nuts | dairy | gluten | fish | anything spicy",
    "food_tail": " | I'll get {grocery}. | {name} says yes. | no onions this time pls.",
    "ham_travel": "{travel_info} {travel_extra} | {travel_info} {travel_info} {travel_extra}",
    "travel_info": "train's cancelled, getting the bus instead. | just landed in {city}! | "
                   "the flight's delayed by {num_small} hours. | we're at the services, halfway there. | "
                   "traffic on {road} is terrible. | made it to {city}! | the hotel is lovely. | "
                   "I'm on the {time} train. | missed my connection, next one's at {time}. | "
                   "the ferry is rocking like mad. | {name} fell asleep in the car.",
    "travel_extra": " | home by {time}. | will call when I'm back. | don't wait up. | pics soon! | "
                    "can you pick me up from the station at {time}? | wish you were here. | "
                    "tell {relative_ham} I'll call {day}.",
    "city": "Leeds | Glasgow | Bristol | Cardiff | Edinburgh | Manchester | Brighton | York | Belfast | "
            "Cornwall | Paris | Berlin | Lisbon",
    "ham_money": "{money_ham} {money_ham_tail}",
    "money_ham": "can you send me the {money_small} for {shared_cost}? | "
                 "I owe you {money_small} for {shared_cost}, will transfer it {day}. | "
                 "sent you {money_small} for {shared_cost}. | how much was {shared_cost}? | "
                 "do you have {money_small} for the {tradesperson}? | "
                 "{shared_cost} came to {money_small} each. | can I borrow {money_small} till {weekday}? | "
                 "I've paid {shared_cost}, you owe me {money_small}. | "
                 "thanks for the {money_small}, you're a star. | "
                 "can I owe you a tenner for {shared_cost}? | just give me a fiver for {shared_cost}.",
    "shared_cost": "the tickets | the taxi | the gas bill | lunch | the rent | the pizza | "
                   "the present for {name} | the petrol | the hotel | the meal",
    "money_ham_tail": " | | no rush. | bank details are the same. | cash is fine. | {name} already paid. | "
                      "cheers.",
    "weekday": "Monday | Tuesday | Wednesday | Thursday | Friday | Saturday | Sunday",
    "ham_link": "{link_intro} {link_ham} {link_outro}",
    "link_intro": "here's the link for the {event_ham}: | photos from the {event_ham}: | map's here | "
                  "the doc's here: | vote for {name}'s drawing! | lol watch this | "
                  "this is the flat I mentioned | tickets here if you want one: | {name} sent me this:",
    "link_outro": " | | let me know what you think | the last one is the best | don't share it | "
                  "meet by the entrance | {name} looks so funny",
    "ham_long": "{news}. {long_mid} {long_mid2} {chat_followup} | "
                "{hey_opt} {long_mid} {news}. {long_mid2} {plan_q}",
    "long_mid": "anyway I told {name} about it and she just laughed. | "
                "it took us {num_small} hours to get home because of the roadworks on {road}. | "
                "the kids loved it, they're still talking about the {kid_thing}. | "
                "I tried your recipe for {dish} and it actually worked! | "
                "we're thinking of going back to {city} in the summer. | dad's fixing the fence finally. | "
                "the new neighbours seem nice, they brought round a cake. | "
                "I've signed up for that pottery class, first one is {day}. | "
                "{family_member} {family_news} and I'm still in shock.",
    "kid_thing": "bouncy castle | donkey rides | penguins | rock pools | magic show | face painting",
    "long_mid2": "honestly what a week. | let's catch up properly soon. | I'll show you the photos. | "
                 "not sure what to do yet. | it was so good to see everyone. | "
                 "fingers crossed it stays sunny. | {name} sends love.",

    # ham that looks like spam
    "ham_spammy": "{won_ham} | {legit_notice} | {scam_talk} | {urgent_ham} | {free_ham}",
    "won_ham": "{we_won} {won_prize}, {won_tail}",
    "we_won": "I WON the pub quiz!! | guess who won the raffle at work? | won on a scratchcard haha, | "
              "our team came first in the quiz, | {name} won the office sweepstake, | "
              "I came 2nd in the 10k, | my raffle ticket came up at the school fair! | "
              "we won the {event_ham} raffle!",
    "won_prize": "{money_small} prize | a {gadget} lol | a free meal at {place} | tickets to {event} | "
                 "a medal and a voucher | a hamper | a year's free {service}",
    "won_tail": "drinks on me {day} | lunch is on me | screaming | can't believe it | "
                "not bad for a {money_small} ticket | we should celebrate {day} | {name} is so jealous",
    "legit_notice": "Reminder: your appointment at {clinic} is on {date} at {time}. "
                    "To cancel or rebook call {phone}. | "
                    "Your prescription is ready to collect from {pharmacy}{notice_tail} | "
                    "Your {shop} order has been dispatched and should arrive {day}{notice_tail} | "
                    "Your table for {num_small} at {restaurant} is booked for {time} {day}. See you then! "
                    "| {clinic}: you're due a check-up. Call {phone} to book. | "
                    "Your library books are due back on {date}. Renew at {link_ham} | "
                    "Your verification code is {digits6}. Don't share it with anyone. | "
                    "Thanks for your payment of {money_mid} to {utility}{notice_tail}",
    "notice_tail": ". | . No need to reply. | , no action needed. | . Opening hours 9-{num_small}pm. | "
                   ". Questions? Call {phone}.",
    "clinic": "the dentist | Riverside Surgery | Parkview Medical Centre | the eye clinic | the physio | "
              "Dr Okafor's clinic",
    "pharmacy": "Green Cross Pharmacy | the chemist on High St | Parkview Pharmacy",
    "restaurant": "Luca's | The Old Anchor | Bombay Nights | The Green Table | Sakura",
    "utility": "Bright Water | CityEnergy | the council",
    "scam_talk": "{scam_heard} {scam_advice}",
    "scam_heard": "did you get a text saying you'd won a {gadget}? | "
                  "{relative_ham} just got one of those fake {scam_kind} texts. | "
                  "someone's pretending to be the bank again. | "
                  "lol I got a text saying I'm owed {money_big}, if only! | "
                  "just blocked another you've won a prize number. | "
                  "{name} nearly paid a fake {scam_kind} fee.",
    "scam_kind": "parcel | bank | toll | tax refund | prize",
    "scam_advice": "it's a scam, don't click it | told them to delete it | don't answer unknown numbers | "
                   "never give your details out | report it and block | the link looked so real too",
    "urgent_ham": "URGENT call me when you get this, {urgent_reason} | call me asap, it's about {name} | "
                  "pls ring me back, {urgent_reason} | "
                  "need you to call me now, nothing bad, just {urgent_ok}",
    "urgent_reason": "{relative_ham} is locked out | the car's broken down on {road} | "
                     "I left my keys at yours | the boiler's leaking | I can't find the passport | "
                     "the {pet} has got out",
    "urgent_ok": "need the wifi password | want to ask about the {event_ham} | good news! | need {name}'s number",
    "free_ham": "FREE {dish} in the kitchen at work, come get some! | "
                "I've got {num_small} free tickets for {event}, want one? | "
                "there's a free {activity} thing at {place} {day}, we should go | "
                "the cafe is giving out free coffee {day} lol | "
                "{shop} has {discount} trainers, u coming? | "
                "{name} says the {event_ham} is free entry {day}",
}

SPAM_KINDS = {"spam_prize": 13, "spam_bank": 11, "spam_account": 5, "spam_delivery": 10, "spam_fine": 6,
              "spam_premium": 9, "spam_loan": 6, "spam_promo": 9, "spam_invest": 5, "spam_job": 5,
              "spam_survey": 4, "spam_friendly": 8, "spam_short": 4}
HAM_KINDS = {"ham_plans": 14, "ham_late": 8, "ham_errands": 10, "ham_work": 9, "ham_chat": 13, "ham_short": 3,
             "ham_greet": 5, "ham_food": 6, "ham_travel": 5, "ham_money": 5, "ham_link": 3, "ham_long": 8,
             "ham_spammy": 8}

# --- parts made up on the spot: numbers, money, times, codes, fake phone numbers and links ---------------

LINK_WORDS = ("claim prize secure verify parcel track win reward account login bonus offer deals update "
              "refund pay redeliver gift lucky cash free my fast vip pass check safe help").split()
HAM_LINKS = ("docs.example.org/d/{c} | photos.example.com/album/{c} | maps.example.com/?q={c} | "
             "meet.example.net/{c} | shop.example.com/item/{d} | video.example.com/watch?v={c} | "
             "tickets.example.org/e/{d} | library.example.org/renew")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def code(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(rng.randint(1, 3)))
    return letters + digits(rng, rng.randint(2, 4))


def phone(rng: random.Random) -> str:
    three, two = digits(rng, 3), digits(rng, 2)
    return rng.choice([f"07700 900{three}", f"07700900{three}", f"+44 7700 900{three}", f"01632 960{three}",
                       f"0808 157 0{three}", f"08081570{three}", f"555-01{two}", f"(201) 555-01{two}"])


def link(rng: random.Random) -> str:
    slug = "".join(rng.choice("abcdefghkmnpqrstuvwxyz23456789") for _ in range(rng.randint(4, 6)))
    if rng.random() < 0.25:
        return f"{rng.choice(['go', 'bit', 't', 'tiny', 'lnk'])}.example/{slug}"
    host = "-".join(rng.sample(LINK_WORDS, rng.choice([1, 2, 2])))
    scheme = rng.choice(["", "", "http://", "https://", "www."])
    path = rng.choice(["", f"/{slug}", "/claim", f"/?id={digits(rng, 5)}", "/login"])
    return f"{scheme}{host}.{rng.choice(['example.com', 'example.net', 'example.org'])}{path}"


def link_ham(rng: random.Random) -> str:
    slug = "".join(rng.choice("abcdefghkmnpqrstuvwxyz23456789") for _ in range(rng.randint(5, 8)))
    address = rng.choice(HAM_LINKS.split(" | ")).format(c=slug, d=digits(rng, 5))
    return rng.choice(["", "", "https://"]) + address


def money(rng: random.Random, amounts: list[int]) -> str:
    amount, symbol = rng.choice(amounts), rng.choice("£££$€")
    style = rng.random()
    if style < 0.5:
        return f"{symbol}{amount:,}"
    if style < 0.85:
        return f"{symbol}{amount}"
    return f"{amount:,} {rng.choice(['pounds', 'GBP', 'USD', 'cash', 'euros'])}"


def money_fee(rng: random.Random) -> str:
    cents = rng.choice(["49", "50", "95", "99", "25", "20", "75", "45"])
    return f"{rng.choice('£££$€')}{rng.randint(0, 4)}.{cents}"


def money_small(rng: random.Random) -> str:
    amount = rng.choice([5, 8, 10, 12, 15, 20, 25, 30, 40, 45, 60])
    return rng.choice([f"£{amount}", f"£{amount}", f"{amount} quid", f"${amount}",
                       f"£{amount}.{rng.choice([50, 40, 20])}", f"{amount}"])


def clock(rng: random.Random) -> str:
    hour, minute = rng.randint(1, 12), rng.choice([0, 0, 0, 15, 30, 30, 45, 10, 20, 40])
    return rng.choice([f"{hour}", f"{hour}pm", f"{hour}am", f"{hour}.{minute:02d}", f"{hour}:{minute:02d}",
                       f"half {hour}", f"{hour}ish", f"{hour + 12 if hour < 12 else 12}:{minute:02d}"])


def date(rng: random.Random) -> str:
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    suffix = "th" if 10 < day < 14 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return rng.choice([f"{day}/{month:02d}", f"{day} {MONTHS[month - 1]}", f"the {day}{suffix}",
                       f"{day}{suffix} {MONTHS[month - 1]}"])


MAKERS = {
    "phone": phone, "link": link, "link_ham": link_ham, "code": code, "date": date, "time": clock,
    "money_big": lambda rng: money(rng, [250, 500, 750, 900, 1000, 1500, 2000, 2500, 5000, 10000, 25000]),
    "money_mid": lambda rng: money(rng, [20, 25, 50, 75, 100, 120, 150, 200, 250, 300, 350, 400, 450]),
    "money_fee": money_fee, "money_small": money_small,
    "shortcode": lambda rng: f"555{rng.randint(10, 99)}",
    "digits4": lambda rng: digits(rng, 4), "digits6": lambda rng: digits(rng, 6),
    "digits8": lambda rng: digits(rng, 8),
    "num_small": lambda rng: str(rng.randint(2, 20)), "num_box": lambda rng: str(rng.randint(10, 999)),
    "daynum": lambda rng: rng.choice(["1st", "2nd", "3rd", "5th", "9th", "12th", "14th", "20th", "28th"]),
    "pct": lambda rng: f"{rng.choice([10, 15, 20, 25, 30, 40, 50, 60, 70, 80])}%",
}
GRAMMAR = {slot: [option.strip() for option in options.split("|")] for slot, options in RAW_GRAMMAR.items()}
SLOT = re.compile(r"\{(\w+)\}")


def expand(template: str, rng: random.Random) -> str:
    """Fill every {slot} in `template`: a made-up part from MAKERS or a random option from the grammar."""
    def fill(match: re.Match) -> str:
        slot = match.group(1)
        if slot in MAKERS:
            return MAKERS[slot](rng)
        return expand(rng.choice(GRAMMAR[slot]), rng)
    return SLOT.sub(fill, template)


def tidy(text: str) -> str:
    """Spaces and punctuation left over from empty options: 'a  b' -> 'a b', 'x .' -> 'x.', '!.' -> '!'."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r" +([.,!?:])(?=\s|$)", r"\1", text)
    text = re.sub(r"([!?:,])\.(?=\s|$)", r"\1", text)
    text = re.sub(r"(?<!\.)\.\.(?!\.)", ".", text)
    return re.sub(r"^[,.] *", "", text)


# --- texting style ---------------------------------------------------------------------------------------

TEXTSPEAK = {
    "you": "u | ya", "your": "ur | yr", "you're": "ur | youre", "are": "r", "to": "2", "too": "2", "for": "4",
    "tonight": "2nite | tonite", "tomorrow": "tmrw | 2moro | tmr", "today": "2day", "please": "pls | plz",
    "thanks": "thx | ta | thnx", "because": "cos | coz", "see": "c", "be": "b", "great": "gr8",
    "later": "l8r", "okay": "ok | k", "people": "ppl", "really": "rly", "message": "msg", "text": "txt",
    "what": "wat | wot",
    "with": "w/ | wiv", "before": "b4", "about": "abt | bout", "love": "luv", "and": "& | n", "going": "goin",
    "probably": "prob | prolly", "minutes": "mins", "i'm": "im", "don't": "dont", "can't": "cant",
    "have": "hav", "just": "jus", "know": "kno", "sorry": "sry | soz", "something": "smth", "good": "gud",
    "night": "nite",
}
TEXTSPEAK_OPTIONS = {word: [option.strip() for option in options.split("|")]
                     for word, options in TEXTSPEAK.items()}
HAM_SIGN_OFFS = ["x", "xx", "xxx", ":)", ":-)", ";)", ":D", ":P", "<3", "lol", "haha", "cheers", "ta",
                 "love you", "Mum x", "- {name}", "speak soon", "x x"]


def textspeak(text: str, rng: random.Random, rate: float) -> str:
    """Swap words for their texting forms (you -> u, tonight -> 2nite, ...) with probability `rate` each."""
    words = []
    for word in text.split(" "):
        core = word.strip(".,!?:;").lower()
        if core in TEXTSPEAK_OPTIONS and rng.random() < rate:
            start = word.lower().index(core)
            word = word[:start] + rng.choice(TEXTSPEAK_OPTIONS[core]) + word[start + len(core):]
        words.append(word)
    return " ".join(words)


def typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters in one longer word, as thumbs do."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 4]
    if candidates:
        i = rng.choice(candidates)
        j = rng.randrange(1, len(words[i]) - 2)
        words[i] = words[i][:j] + words[i][j + 1] + words[i][j] + words[i][j + 2:]
    return " ".join(words)


def sentence_case(text: str) -> str:
    """A capital letter at the start of every sentence, unless the sentence starts with a link."""
    return re.sub(r"(^|[.!?] )([a-z])(?![\w-]*[./][a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def style_ham(text: str, rng: random.Random) -> str:
    """Half the messages in texting style, some typos, mostly lower or sentence case, kisses and smileys."""
    if rng.random() < 0.5:
        text = textspeak(text, rng, rng.uniform(0.3, 1.0))
    if rng.random() < 0.15:
        text = typo(text, rng)
    casing = rng.random()
    if casing < 0.45:
        text = text.lower()
    elif casing < 0.97:
        text = sentence_case(text)
    else:
        text = text.upper()
    if rng.random() < 0.5:
        text = text.rstrip(".")
    if rng.random() < 0.3:
        text = f"{text} {expand(rng.choice(HAM_SIGN_OFFS), rng)}"
    return text


def style_spam(text: str, rng: random.Random) -> str:
    """Some texting style, mostly sentence case, now and then shouted in capitals."""
    if rng.random() < 0.25:
        text = textspeak(text, rng, rng.uniform(0.3, 0.8))
    casing = rng.random()
    if casing < 0.1:
        text = text.lower()
    elif casing < 0.17:
        text = text.upper()
    elif casing < 0.3:  # shout the first sentence only
        first, _, rest = text.partition(". ")
        text = f"{first.upper()}. {rest}" if rest else first.upper()
    else:
        text = sentence_case(text)
    if rng.random() < 0.3:
        text = text.rstrip(".")
    return text


# --- the dataset -----------------------------------------------------------------------------------------


def words_only(text: str) -> str:
    """The text as lower-case words: two messages that differ only in case or punctuation look the same."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def generate(rng: random.Random, kinds: dict[str, int], style: Callable[[str, random.Random], str],
             count: int, seen: set[str]) -> list[str]:
    """`count` new messages of the given kinds (chosen by weight), none equal to a message in `seen`."""
    names, weights = list(kinds), list(kinds.values())
    messages: list[str] = []
    while len(messages) < count:
        kind = rng.choices(names, weights)[0]
        text = style(tidy(expand(rng.choice(GRAMMAR[kind]), rng)), rng)
        key = words_only(text)
        if text and len(text) <= MAX_GENERATED_CHARS and key not in seen:
            seen.add(key)
            messages.append(text)
    return messages


def build_dataset() -> list[tuple[str, str]]:
    """All (label, text) rows in file order: the hand-written messages, topped up with generated ones."""
    rng = random.Random(SEED)
    ham, spam = HAND_HAM.splitlines(), HAND_SPAM.splitlines()
    seen = {words_only(text) for text in ham + spam}
    ham += generate(rng, HAM_KINDS, style_ham, NUM_HAM - len(ham), seen)
    spam += generate(rng, SPAM_KINDS, style_spam, NUM_SPAM - len(spam), seen)
    rows = [("ham", text) for text in ham] + [("spam", text) for text in spam]
    rng.shuffle(rows)
    return rows


def to_tsv(rows: list[tuple[str, str]]) -> str:
    for _, text in rows:
        if "\t" in text or "\n" in text or text.startswith('"'):
            raise ValueError(f"a message cannot hold a tab or newline or start with a quote: {text!r}")
    return "".join(f"{label}\t{text}\n" for label, text in rows)


def report(rows: list[tuple[str, str]]) -> None:
    """Counts, lengths, near-duplicates in the file and between the book's train and test splits."""
    tokenizer = get_tokenizer("embedded")
    print(f"{len(rows)} messages in {EMBEDDED_SMS.name}")
    for label in ("ham", "spam"):
        texts = [text for lab, text in rows if lab == label]
        chars = [len(t) for t in texts]
        tokens = [len(tokenizer.encode(t)) for t in texts]
        print(f"  {label:4}: {len(texts)} messages; characters min {min(chars)}, "
              f"median {statistics.median(chars):.0f}, mean {statistics.mean(chars):.0f}, max {max(chars)}; "
              f"embedded-BPE tokens median {statistics.median(tokens):.0f}, max {max(tokens)}; "
              f"near-duplicate share {near_duplicate_share(texts):.2%}")
    texts = [text for _, text in rows]
    print(f"  near-duplicate share (word-bigram Jaccard >= 0.7), whole file: "
          f"{near_duplicate_share(texts):.2%} ({len(near_duplicate_pairs(texts))} pairs)")
    df = read_sms_file(EMBEDDED_SMS)
    train_df, validation_df, test_df = random_split(create_balanced_dataset(df), 0.7, 0.1)
    train, test = train_df["Text"].tolist(), test_df["Text"].tolist()
    leaks = {j - len(train) for i, j, _ in near_duplicate_pairs(train + test) if i < len(train) <= j}
    print(f"  book split (balanced, 0.7/0.1): train {len(train)}, validation {len(validation_df)}, "
          f"test {len(test)}; test messages with a near-duplicate in train: {len(leaks)} "
          f"({len(leaks) / len(test):.2%})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed file is not what this script writes")
    args = parser.parse_args(argv)
    rows = build_dataset()
    content = to_tsv(rows).encode("utf-8")
    if args.check:
        if not EMBEDDED_SMS.is_file() or EMBEDDED_SMS.read_bytes() != content:
            print(f"{EMBEDDED_SMS} differs from what this script writes; run python ch06/make_sms_dataset.py")
            return 1
        print(f"{EMBEDDED_SMS.name} is up to date ({len(rows)} messages)")
        return 0
    EMBEDDED_SMS.write_bytes(content)
    if read_sms_file(EMBEDDED_SMS)["Text"].tolist() != [text for _, text in rows]:
        raise RuntimeError("pandas does not read the file back as written; check quoting and empty messages")
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
